"""The kind Cluster config (a dict, dumped as YAML) and the node files it mounts; pure, used by kind.py.

The node pulls from Harbor through containerd's hosts directory (`config_path`), mounted read-only from
the host; the registry host name is pinned in the node's /etc/hosts before containerd starts, because the
node resolves through Docker's DNS, which never sees the runner host's /etc/hosts (`lenovo: no such host`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..models.settings import WorkspaceSettings
from . import toml_writing

API_VERSION = "kind.x-k8s.io/v1alpha4"
CERTS_DIR = "/etc/containerd/certs.d"
PIN_DIR = "/etc/tekton-runner"
PIN_DROP_IN = "/etc/systemd/system/containerd.service.d/50-tekton-runner-pin-hosts.conf"
DOCKER_HUB_NAMESPACE = "docker.io"
DOCKER_HUB_SERVER = "https://registry-1.docker.io"

# Static: the values it appends come from the mounted `hosts` file, never from this text.
PIN_SCRIPT = """#!/bin/sh
# tekton-runner: pin the registry host names the runner resolved, before containerd starts.
set -eu
while IFS= read -r entry; do
  [ -n "$entry" ] || continue
  grep -qxF -- "$entry" /etc/hosts || printf '%s\\n' "$entry" >> /etc/hosts
done < /etc/tekton-runner/hosts
"""
PIN_UNIT = """[Service]
# Docker rewrites /etc/hosts whenever the node container starts; re-pin before every containerd start.
ExecStartPre=-/bin/sh /etc/tekton-runner/pin-hosts.sh
"""


@dataclass(frozen=True, order=True)
class PortBlock:
    """NodePorts first..last (inclusive) of one workspace cluster, published on the host as themselves."""

    first: int
    last: int

    @property
    def ports(self) -> range:
        return range(self.first, self.last + 1)

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


def port_blocks(node_ports: tuple[int, int], per_workspace: int) -> list[PortBlock]:
    """The configured range cut into equal blocks: clusters cannot share a host port."""
    low, high = node_ports
    return [
        PortBlock(start, start + per_workspace - 1)
        for start in range(low, high - per_workspace + 2, per_workspace)
    ]


def split_host(host: str) -> tuple[str, str]:
    """`lenovo:8443` -> ("lenovo", ":8443"); `[::1]:5000` -> ("::1", ":5000")."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest
    name, colon, port = host.partition(":")
    return name, colon + port


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def mirror_parts(settings: WorkspaceSettings) -> tuple[str, str] | None:
    """The mirror prefix as (host, project path), e.g. ("lenovo:8443", "dockerhub-proxy")."""
    if not settings.mirror_prefix:
        return None
    host, _, path = settings.mirror_prefix.strip("/").partition("/")
    return host, path


def registry_hosts(settings: WorkspaceSettings) -> list[str]:
    """Every host[:port] workspace images come from: Harbor, and the mirror's host when it differs."""
    hosts = [settings.registry_host]
    mirror = mirror_parts(settings)
    if mirror and mirror[0] not in hosts:
        hosts.append(mirror[0])
    return hosts


def names_to_pin(settings: WorkspaceSettings) -> list[str]:
    """Registry host names (no port) the node must resolve; IP literals need no pinning."""
    names: list[str] = []
    for host in registry_hosts(settings):
        name, _ = split_host(host)
        if not is_ip(name) and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class NodeFiles:
    """Files under the workspace's node directory: `texts` to write, `copies` from an existing file."""

    texts: dict[str, str] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)

    @property
    def pins_hosts(self) -> bool:
        return "tekton-runner/hosts" in self.texts


def _host_entry(settings: WorkspaceSettings, ca: str | None) -> dict[str, toml_writing.TomlValue]:
    entry: dict[str, toml_writing.TomlValue] = {"capabilities": ["pull", "resolve"]}
    if ca:
        entry["ca"] = ca
    if settings.registry_insecure:
        entry["skip_verify"] = True
    return entry


def node_files(settings: WorkspaceSettings, pins: Mapping[str, str]) -> NodeFiles:
    """containerd hosts.toml per registry host (+ Docker Hub through the mirror), CA, and the pin files."""
    scheme = "http" if settings.registry_http else "https"
    texts: dict[str, str] = {}
    copies: dict[str, Path] = {}
    ca: str | None = None
    if settings.registry_ca_file is not None and not settings.registry_http:
        copies[f"certs.d/{settings.registry_host}/ca.crt"] = settings.registry_ca_file
        ca = f"{CERTS_DIR}/{settings.registry_host}/ca.crt"
    for host in registry_hosts(settings):
        endpoint = f"{scheme}://{host}"
        texts[f"certs.d/{host}/hosts.toml"] = toml_writing.document(
            {"server": endpoint}, [(("host", endpoint), _host_entry(settings, ca))],
        )
    mirror = mirror_parts(settings)
    if mirror:
        mirror_host, project = mirror
        entry = _host_entry(settings, ca)
        endpoint = f"{scheme}://{mirror_host}"
        if project:  # a Harbor proxy-cache project answers under /v2/<project>/...
            endpoint = f"{endpoint}/v2/{project}"
            entry["override_path"] = True
        texts[f"certs.d/{DOCKER_HUB_NAMESPACE}/hosts.toml"] = toml_writing.document(
            {"server": DOCKER_HUB_SERVER}, [(("host", endpoint), entry)],
        )
    if pins:
        texts["tekton-runner/hosts"] = "".join(f"{address} {name}\n" for name, address in sorted(pins.items()))
        texts["tekton-runner/pin-hosts.sh"] = PIN_SCRIPT
        texts["containerd-pin-hosts.conf"] = PIN_UNIT
    return NodeFiles(texts=texts, copies=copies)


def cluster_config(
    *, cluster: str, settings: WorkspaceSettings, node_dir: Path, files: NodeFiles, ports: PortBlock | None,
) -> dict[str, Any]:
    """The kind.x-k8s.io/v1alpha4 Cluster for one workspace: one control-plane node."""
    mounts: list[dict[str, Any]] = [
        {"hostPath": str(node_dir / "certs.d"), "containerPath": CERTS_DIR, "readOnly": True},
    ]
    if files.pins_hosts:
        mounts += [
            {"hostPath": str(node_dir / "tekton-runner"), "containerPath": PIN_DIR, "readOnly": True},
            {"hostPath": str(node_dir / "containerd-pin-hosts.conf"), "containerPath": PIN_DROP_IN,
             "readOnly": True},
        ]
    node: dict[str, Any] = {"role": "control-plane"}
    if settings.kind_node_image:
        node["image"] = settings.kind_node_image
    node["extraMounts"] = mounts
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": API_VERSION, "name": cluster, "nodes": [node]}
    if ports is not None:
        node["extraPortMappings"] = [
            {"containerPort": port, "hostPort": port, "listenAddress": settings.kind_listen_address,
             "protocol": "TCP"}
            for port in ports.ports
        ]
        # The apiserver hands out NodePorts only from this cluster's block, so each is published as itself.
        config["kubeadmConfigPatches"] = [yaml.safe_dump({
            "kind": "ClusterConfiguration",
            "apiServer": {"extraArgs": {"service-node-port-range": str(ports)}},
        }, sort_keys=False)]
    # containerd reads registry hosts from the mounted directory (kind's default config does not set it).
    config["containerdConfigPatches"] = [toml_writing.document(
        {}, [(("plugins", "io.containerd.grpc.v1.cri", "registry"), {"config_path": CERTS_DIR})],
    )]
    return config


def dump(config: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
