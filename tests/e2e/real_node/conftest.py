"""Real-node tier: pods that really run, on the kubelet + containerd node beside kwok's.

Part of `make test` and `make e2e` (and alone: `make e2e-real`). The session starts the real node on
the plane when it is not up (`cluster/ctl.py node up`, after the e2e tier has started the plane) and
leaves it up, like the plane; a plane the session started is taken down with its node at the end.

`real_tier` is the runner's whole flow on the real node as a site would set it up: its own install of
triggers/ (`cluster/ctl.py listener up real`: build namespace tekton-builds-real, its own EventListener;
the builder and fetch images, the plain-HTTP registry and a podTemplate for the tainted node come from
triggers/'s components and an overlay patch) and the runner settings that put the workspace pods on the
real node and pull the dependency images from the plane's registry. `real_runner` is a runner on it.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tekton_runner.workspaces import registry_auth
from tests.e2e.conftest import CTL, Cluster, serving
from tests.e2e.kubeapi import KubeAPI, Obj, poll
from tests.e2e.runner import Runner

TOLERATION = {"key": "tekton-runner.io/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
REAL_BUILD_NAMESPACE = "tekton-builds-real"


def ctl_env(*args: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, str(CTL), *args], capture_output=True, text=True)
    assert done.returncode == 0, f"cluster/ctl.py {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
    out = done.stdout
    env = {}
    for line in out.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = shlex.split(value)[0] if value else ""
    return env


def node_is_up() -> bool:
    return subprocess.run([sys.executable, str(CTL), "node", "status"], capture_output=True).returncode == 0


@dataclass(frozen=True)
class RealNode:
    name: str
    images: dict[str, str]
    registry: str  # the plane's registry as pods and the node's containerd reach it
    address: str  # the node's InternalIP, where its NodePorts answer

    def at_relay(self, name: str) -> str:
        """An image of `ctl.py images` named at the registry address pods reach (Kaniko's FROM, pulls)."""
        return f"{self.registry}/{self.images[name].partition('/')[2]}"

    def pod(self, name: str, image: str, command: list[str], **spec: object) -> Obj:
        """A pod pinned to the real node (its taint tolerated), without a service account token."""
        return {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": self.name}, "tolerations": [TOLERATION],
                "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "main", "image": self.images[image], "command": command}],
                **spec,
            },
        }


@pytest.fixture(scope="session")
def real_node(cluster: Cluster) -> RealNode:
    if not node_is_up():
        subprocess.run([sys.executable, str(CTL), "node", "up"], check=True)
    env = ctl_env("node", "env")
    images = ctl_env("images", "busybox", "redis", "postgres", "fetch", "kaniko", "buildah", "python")
    node = json.loads(subprocess.run([cluster.env["TEKTON_RUNNER_KUBECTL"], f"--kubeconfig={cluster.kubeconfig}",
                                      "get", "node", env["TEKTON_RUNNER_REAL_NODE"], "-o", "json"],
                                     check=True, capture_output=True, text=True).stdout)
    address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    return RealNode(name=env["TEKTON_RUNNER_REAL_NODE"], images=images, registry=env["TEKTON_RUNNER_NODE_REGISTRY"],
                    address=address)


def build_pod_template(node: RealNode) -> list[dict[str, object]]:
    """The site's kustomize patch of triggers/: every TaskRun's pods on the real node, its taint tolerated."""
    template = {"nodeSelector": {"kubernetes.io/hostname": node.name}, "tolerations": [TOLERATION]}
    return [{"target": {"kind": "TriggerTemplate"}, "patch": json.dumps([
        {"op": "add", "path": "/spec/resourcetemplates/0/spec/podTemplate", "value": template}])}]


@pytest.fixture(scope="session")
def real_tier(cluster: Cluster, real_node: RealNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The runner's environment for the real tier: its own triggers/ install and the node's placement."""
    patches = tmp_path_factory.mktemp("real-tier") / "patches.json"
    patches.write_text(json.dumps(build_pod_template(real_node)))
    listener = ctl_env(
        "listener", "up", "real", "--set", f"build_namespace={REAL_BUILD_NAMESPACE}",
        "--set", f"harbor_host={real_node.registry}", "--set", f"builder_image={real_node.at_relay('kaniko')}",
        "--set", f"fetch_image={real_node.at_relay('fetch')}",
        "--component", "step-images", "--component", "plain-http-registry", "--patches", str(patches))
    return {
        **cluster.env, **listener,
        "TEKTON_RUNNER_REGISTRY": f"{real_node.registry}/library", "TEKTON_RUNNER_REGISTRY_HOST": real_node.registry,
        "TEKTON_RUNNER_REDIS_IMAGE": real_node.at_relay("redis"),
        "TEKTON_RUNNER_POSTGRES_IMAGE": real_node.at_relay("postgres"),
        "TEKTON_RUNNER_NODE_SELECTOR": f"kubernetes.io/hostname={real_node.name}",
        "TEKTON_RUNNER_TOLERATIONS": "{key}={value}:{effect}".format(**TOLERATION),
        "TEKTON_RUNNER_NODE_ADDRESS": real_node.address,
        # the tests reach external ports on loopback, which the relay serves (docs/forwarding.md)
        "TEKTON_RUNNER_FORWARD_LISTEN_HOST": "127.0.0.1",
        # first pulls of the postgres image and its first initdb take longer than the kwok tier's wait
        "TEKTON_RUNNER_READY_TIMEOUT": "300",
        # the node's NodePorts answer: a run succeeds only once its NodePort accepts connections (the default)
        "TEKTON_RUNNER_REACH_TIMEOUT": "30",
    }


@pytest.fixture
async def real_runner(real_tier: dict[str, str], kube: KubeAPI, tmp_path: Path) -> AsyncIterator[Runner]:
    """`tekton-runner serve` on the real tier, Tekton's events sink pointed at it."""
    async with serving(kube, Runner(real_tier, tmp_path / "runner", settings=real_tier)) as proc:
        yield proc


@dataclass(frozen=True)
class Harbor:
    """The plane's registry as Harbor (cluster/localplane/harbor.py): host name, TLS, robot account."""

    address: str  # host:port; the host resolves only where the node was told it
    ca: Path
    username: str
    password: str

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    def image(self, reference: str) -> str:
        """`reference` (an image in the plane's registry under any of its addresses) by host name."""
        return f"{self.address}/{reference.split('/', 1)[1]}"

    def pull_secret(self, name: str) -> Obj:
        """A kubernetes.io/dockerconfigjson Secret with the robot account, as a workspace's pull Secret."""
        config = registry_auth.docker_config(self.address, self.username, self.password)
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": registry_auth.encoded(config)}}


@pytest.fixture(scope="session")
def harbor(real_node: RealNode) -> Harbor:
    env = ctl_env("node", "env")
    return Harbor(address=env["TEKTON_RUNNER_NODE_HARBOR"], ca=Path(env["TEKTON_RUNNER_NODE_HARBOR_CA"]),
                  username=env["TEKTON_RUNNER_NODE_HARBOR_USERNAME"],
                  password=env["TEKTON_RUNNER_NODE_HARBOR_PASSWORD"])


@pytest.fixture
async def namespace(kube: KubeAPI) -> AsyncIterator[str]:
    name = f"real-{uuid.uuid4().hex[:8]}"
    await kube.ensure_namespace(name)
    yield name
    await kube.delete(f"/api/v1/namespaces/{name}")


async def pod_phase(kube: KubeAPI, namespace: str, name: str, phases: tuple[str, ...], within: float) -> Obj:
    """Wait until the pod reaches one of `phases` (Ready counts as 'Ready')."""
    async def probe() -> Obj | None:
        pod = await kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}") or {}
        status = pod.get("status", {})
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
        if status.get("phase") in phases or ("Ready" in phases and ready):
            return pod
        return None
    return await poll(f"pod {namespace}/{name} in {phases}", probe, within)
