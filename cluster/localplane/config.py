"""Paths, ports and pinned versions of the local control plane; every other module reads them here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLUSTER_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = CLUSTER_DIR.parent

TEKTON_NAMESPACE = "tekton-pipelines"
NODE_NAME = "kwok-node-0"
# Image references handed to the Tekton controller. Nothing ever pulls them: kwok plays the kubelet.
FAKE_IMAGE_PREFIX = "images.invalid/tekton-runner-local"
# The Tekton controller's image flags (all six required by cmd/controller), by the image they name.
TEKTON_IMAGE_FLAGS = {"entrypoint": "-entrypoint-image", "nop": "-nop-image",
                      "sidecarlogresults": "-sidecarlogresults-image", "workingdirinit": "-workingdirinit-image",
                      "shell": "-shell-image", "shell-win": "-shell-image-win"}


def read_versions(path: Path = CLUSTER_DIR / "versions.env") -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


@dataclass(frozen=True)
class Ports:
    """Loopback ports; chosen away from the usual defaults so a developer's own services keep theirs."""

    etcd_client: int = 23790
    etcd_peer: int = 23800
    apiserver: int = 26443
    controller_manager: int = 20257
    scheduler: int = 20259
    kwok: int = 20247
    tekton_probes: int = 20080
    tekton_profiling: int = 20008
    tekton_metrics: int = 20090
    events_probes: int = 20081
    events_profiling: int = 20009
    events_metrics: int = 20091
    eventlistener: int = 20085
    eventlistener_metrics: int = 20092
    eventlistener_profiling: int = 20010
    registry: int = 25000


@dataclass(frozen=True)
class Layout:
    cache: Path
    state: Path
    ports: Ports = field(default_factory=Ports)

    @classmethod
    def from_env(cls) -> Layout:
        cache = Path(os.environ.get("TEKTON_RUNNER_CACHE", Path.home() / ".cache" / "tekton-runner"))
        state = Path(os.environ.get("TEKTON_RUNNER_CLUSTER_DIR", "/tmp/tekton-runner-cluster"))
        return cls(cache=cache, state=state)

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def env_file(self) -> Path:
        return self.state / "cluster.env"

    @property
    def timings_file(self) -> Path:
        return self.state / "timings.json"

    def binary(self, name: str) -> Path:
        return self.bin / name

    @property
    def apiserver_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def eventlistener_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.eventlistener}/"

    @property
    def registry_host(self) -> str:
        return f"127.0.0.1:{self.ports.registry}"

    @property
    def registry_data(self) -> Path:
        """The registry's storage, shared by the HTTP registry and the one served by host name (harbor.py)."""
        return self.state / "registry" / "data"

    @property
    def harbor(self) -> Path:
        """The TLS registry's certificate, robot account and config: made once per plane (harbor.py)."""
        return self.state / "harbor"


# ---------------------------------------------------------------------------------------- real node

# A real node is tainted so that only pods that tolerate it run there; everything else keeps going to
# the kwok node (which kwok manages through its annotation; it never manages this node).
REAL_NODE_TAINT = {"key": "tekton-runner.io/real-node", "value": "true", "effect": "NoSchedule"}
REAL_NODE_LABEL = "tekton-runner.io/real-node"


@dataclass(frozen=True)
class NodePorts:
    """Fixed ports of the real node, below the ephemeral range (32768-60999 on Debian)."""

    kubelet: int = 20250
    kubelet_healthz: int = 20248
    proxy_healthz: int = 20256
    proxy_metrics: int = 20249
    containerd_stream: int = 20251
    coredns_health: int = 20253
    coredns_ready: int = 20254
    harbor: int = 25443  # the registry by host name over TLS (harbor.py), on the bridge's address


@dataclass(frozen=True)
class NodeLayout:
    """Where the real node keeps its state: `dir` (config, PKI, logs, runtime roots) and `run`."""

    dir: Path
    run: Path
    ports: NodePorts = field(default_factory=NodePorts)
    bridge: str = "trnode0"
    pod_cidr: str = "10.89.0.0/24"
    gateway: str = "10.89.0.1"
    dns_service_ip: str = "10.96.0.10"
    # The registry's host name (harbor.py): .test is reserved (RFC 2606), so it resolves only where the
    # node was told it.
    registry_name: str = "harbor.tekton-runner.test"

    @classmethod
    def from_env(cls) -> NodeLayout:
        return cls(dir=Path(os.environ.get("TEKTON_RUNNER_NODE_DIR", "/var/lib/tekton-runner-node")),
                   run=Path(os.environ.get("TEKTON_RUNNER_NODE_RUN", "/run/tekton-runner-node")))

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def pids(self) -> Path:
        return self.dir / "pids"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd" / "containerd.sock"

    @property
    def hosts_file(self) -> Path:
        """Extra host names the cluster DNS answers (CoreDNS's `hosts`), as names.py writes them."""
        return self.dir / "hosts"

    @property
    def host_before(self) -> Path:
        return self.dir / "host-before.json"

    @property
    def roots(self) -> list[str]:
        """Directories whose mounts and contents belong to the node (logs survive `down`)."""
        return [str(self.dir / "kubelet"), str(self.dir / "containerd"), str(self.run)]
