"""Workspace settings (provisioner, Harbor access, kind, idle TTL) from TEKTON_RUNNER_* variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from ..models.settings import ENV_PREFIX, Settings
from .targets import ProvisionerKind

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")
_PATH_PART = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class WorkspaceSettings:
    # Harbor as the workspace nodes see it: host[:port], no scheme, no path (from TEKTON_RUNNER_REGISTRY).
    registry_host: str = field(kw_only=True)
    provisioner: ProvisionerKind = "namespace"
    registry_username: str | None = None
    registry_password: str | None = field(default=None, repr=False)
    registry_docker_config: Path | None = None  # an existing ~/.docker/config.json-style file
    registry_ca_file: Path | None = None  # PEM bundle the nodes trust for the registry
    registry_insecure: bool = False  # TLS without verification
    registry_http: bool = False  # plain HTTP registry
    registry_address: str | None = None  # IP the kind nodes use for the registry host; None: resolve here
    mirror_prefix: str | None = None  # a Harbor proxy-cache project for Docker Hub, e.g. lenovo:8443/dockerhub-proxy
    pull_secret: str = "harbor-pull"
    kind_binary: str = "kind"
    kind_kubeconfig_dir: Path | None = None
    kind_state_dir: Path | None = None
    kind_node_image: str | None = None
    kind_wait: float = 300.0
    kind_node_ports: tuple[int, int] | None = None  # host-published NodePort range, split between clusters
    kind_ports_per_workspace: int = 10
    kind_listen_address: str = "127.0.0.1"
    idle_ttl: float | None = None  # seconds without a run before a workspace is removed
    pinned: frozenset[str] = frozenset()  # workspaces the idle TTL never removes

    def __post_init__(self) -> None:
        if self.provisioner not in get_args(ProvisionerKind):
            raise ValueError(f"provisioner must be one of {get_args(ProvisionerKind)}, not {self.provisioner!r}")
        if not _HOST.match(self.registry_host):
            raise ValueError(f"registry_host must be host[:port] (no scheme, no path), not {self.registry_host!r}")
        if self.mirror_prefix is not None:
            host, _, path = self.mirror_prefix.strip("/").partition("/")
            if not _HOST.match(host) or not all(_PATH_PART.match(part) for part in path.split("/") if path):
                raise ValueError(f"mirror_prefix must be host[:port]/project, not {self.mirror_prefix!r}")
        if (self.registry_username is None) != (self.registry_password is None):
            raise ValueError("registry_username and registry_password go together")
        if self.registry_docker_config is not None and self.registry_username is not None:
            raise ValueError("give either registry_docker_config or a username and password, not both")
        if self.kind_node_ports is not None:
            low, high = self.kind_node_ports
            if not 1 <= low <= high <= 65535:
                raise ValueError(f"kind_node_ports {low}-{high} is not a port range")
            if high - low + 1 < self.kind_ports_per_workspace:
                raise ValueError("kind_node_ports is smaller than kind_ports_per_workspace")
        if self.kind_ports_per_workspace < 1:
            raise ValueError("kind_ports_per_workspace must be at least 1")
        if self.idle_ttl is not None and self.idle_ttl <= 0:
            raise ValueError("idle_ttl must be positive (leave it unset to keep workspaces)")

    @property
    def has_credentials(self) -> bool:
        return self.registry_username is not None or self.registry_docker_config is not None

    @property
    def pull_secret_name(self) -> str | None:
        """The imagePullSecret every workspace gets, or None when no registry credentials are configured."""
        return self.pull_secret if self.has_credentials else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], settings: Settings) -> WorkspaceSettings:
        """TEKTON_RUNNER_<NAME> for the fields in ENV_NAMES; defaults follow the runner's settings."""
        values: dict[str, object] = {
            "registry_host": settings.registry.split("/", 1)[0],
            "kind_kubeconfig_dir": settings.data_dir / "kubeconfigs",
            "kind_state_dir": settings.data_dir / "kind",
        }
        for name, suffix in ENV_NAMES.items():
            raw = environ.get(ENV_PREFIX + suffix)
            if raw is not None:
                values[name] = _parse(name, raw)
        return cls(**values)  # type: ignore[arg-type]


ENV_NAMES = {
    "provisioner": "WORKSPACE_PROVISIONER",
    "registry_host": "REGISTRY_HOST",
    "registry_username": "REGISTRY_USERNAME",
    "registry_password": "REGISTRY_PASSWORD",
    "registry_docker_config": "REGISTRY_DOCKER_CONFIG",
    "registry_ca_file": "REGISTRY_CA_FILE",
    "registry_insecure": "REGISTRY_INSECURE",
    "registry_http": "REGISTRY_HTTP",
    "registry_address": "REGISTRY_ADDRESS",
    "mirror_prefix": "MIRROR_PREFIX",
    "pull_secret": "PULL_SECRET",
    "kind_binary": "KIND_BINARY",
    "kind_kubeconfig_dir": "KIND_KUBECONFIG_DIR",
    "kind_state_dir": "KIND_STATE_DIR",
    "kind_node_image": "KIND_NODE_IMAGE",
    "kind_wait": "KIND_WAIT",
    "kind_node_ports": "KIND_NODE_PORTS",
    "kind_ports_per_workspace": "KIND_PORTS_PER_WORKSPACE",
    "kind_listen_address": "KIND_LISTEN_ADDRESS",
    "idle_ttl": "WORKSPACE_IDLE_TTL",
    "pinned": "WORKSPACE_PINNED",
}
_PATHS = {"registry_docker_config", "registry_ca_file", "kind_kubeconfig_dir", "kind_state_dir"}
_BOOLS = {"registry_insecure", "registry_http"}
_FLOATS = {"kind_wait", "idle_ttl"}
_OPTIONAL = {"registry_address", "mirror_prefix", "kind_node_image"}


def _parse(name: str, raw: str) -> object:
    if name in _PATHS:
        return Path(os.path.expanduser(raw))
    if name in _BOOLS:
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{ENV_PREFIX}{ENV_NAMES[name]} must be true or false, not {raw!r}")
        return lowered in _TRUE
    if name in _FLOATS:
        return float(raw)
    if name == "kind_ports_per_workspace":
        return int(raw)
    if name == "kind_node_ports":
        low, _, high = raw.partition("-")
        return (int(low), int(high or low))
    if name in _OPTIONAL and not raw.strip():
        return None
    if name == "pinned":
        return frozenset(item.strip() for item in raw.split(",") if item.strip())
    return raw
