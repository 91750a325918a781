"""Real-node tier: pods that really run, on the kubelet + containerd node beside kwok's.

Collected only when named (`make e2e-real`, or `pytest tests/e2e/real_node`): pytest's norecursedirs
keeps it out of `make test` and `make e2e` until it has proven reliable. The session starts the real
node on the running plane when it is not up (`cluster/ctl.py node up`) and leaves it up, like the plane.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tekton_runner.workspaces import registry_auth
from tests.e2e.conftest import CTL, Cluster
from tests.e2e.kubeapi import KubeAPI, Obj, poll

TOLERATION = {"key": "tekton-runner.io/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


def ctl_env(*args: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, str(CTL), *args], check=True, capture_output=True, text=True).stdout
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
    images = ctl_env("images", "busybox", "redis", "postgres", "fetch", "kaniko", "python")
    return RealNode(name=env["TEKTON_RUNNER_REAL_NODE"], images=images, registry=env["TEKTON_RUNNER_NODE_REGISTRY"])


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
