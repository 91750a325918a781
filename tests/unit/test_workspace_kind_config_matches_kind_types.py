"""The generated kind Cluster config uses only fields kind's v1alpha4 Go types define, and says what we mean."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tekton_runner.models.settings import WorkspaceSettings
from tekton_runner.workspaces.kind_config import (
    CERTS_DIR,
    PIN_DIR,
    PIN_DROP_IN,
    PortBlock,
    cluster_config,
    dump,
    node_files,
    port_blocks,
)
from tests.unit.test_workspace_support import problems

NODE_DIR = Path("/var/lib/tekton-runner/kind/ws-demo")
BASE = WorkspaceSettings(provisioner="kind", registry_host="lenovo:8443")
VARIANTS = {
    "plain": BASE,
    "ca-and-mirror": replace(
        BASE, registry_ca_file=Path("/etc/harbor/ca.pem"), mirror_prefix="lenovo:8443/dockerhub-proxy",
    ),
    "insecure-node-image": replace(BASE, registry_insecure=True, kind_node_image="kindest/node:v1.33.1"),
    "http-mirror-elsewhere": replace(BASE, registry_http=True, mirror_prefix="mirror.example:5000/hub"),
    "published-ports": replace(BASE, kind_node_ports=(30100, 30199), kind_ports_per_workspace=5),
}
PINS = {"lenovo": "192.168.1.20"}


def generated(settings: WorkspaceSettings, pins: dict[str, str] = PINS) -> dict[str, Any]:
    files = node_files(settings, pins)
    ports = PortBlock(30100, 30104) if settings.kind_node_ports else None
    text = dump(cluster_config(cluster="ws-demo", settings=settings, node_dir=NODE_DIR, files=files, ports=ports))
    loaded: dict[str, Any] = yaml.safe_load(text)  # what kind reads is the YAML, not our dict
    return loaded


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_key_is_a_field_of_kinds_go_types(variant: str) -> None:
    config = generated(VARIANTS[variant])
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4" and config["kind"] == "Cluster"
    assert problems(config) == []


def test_the_checker_rejects_what_kinds_strict_decoder_rejects() -> None:
    config = generated(BASE)
    config["nodes"][0]["extraHosts"] = ["lenovo:192.168.1.20"]
    config["nodes"][0]["extraMounts"][0]["readonly"] = True  # the Go tag is readOnly
    config["nodes"][0]["role"] = "master"
    found = problems(config)
    assert any("extraHosts" in issue for issue in found)
    assert any("readonly" in issue for issue in found)
    assert any("'master'" in issue for issue in found)


def test_containerd_reads_registry_hosts_from_the_mounted_directory() -> None:
    config = generated(BASE)
    [patch] = config["containerdConfigPatches"]
    assert tomllib.loads(patch) == {"plugins": {"io.containerd.grpc.v1.cri": {"registry": {"config_path": CERTS_DIR}}}}
    mounts = config["nodes"][0]["extraMounts"]
    assert {"hostPath": str(NODE_DIR / "certs.d"), "containerPath": CERTS_DIR, "readOnly": True} in mounts


def test_registry_host_is_pinned_before_containerd_starts() -> None:
    config = generated(BASE)
    mounts = {mount["containerPath"]: mount for mount in config["nodes"][0]["extraMounts"]}
    assert mounts[PIN_DIR]["hostPath"] == str(NODE_DIR / "tekton-runner")
    assert mounts[PIN_DROP_IN]["hostPath"] == str(NODE_DIR / "containerd-pin-hosts.conf")
    files = node_files(BASE, PINS)
    assert files.texts["tekton-runner/hosts"] == "192.168.1.20 lenovo\n"
    assert "ExecStartPre=-/bin/sh /etc/tekton-runner/pin-hosts.sh" in files.texts["containerd-pin-hosts.conf"]
    assert "/etc/tekton-runner/hosts" in files.texts["tekton-runner/pin-hosts.sh"]


def test_nothing_is_pinned_when_no_name_needs_it() -> None:
    settings = replace(BASE, registry_host="192.168.1.20:8443")
    config = generated(settings, pins={})
    paths = [mount["containerPath"] for mount in config["nodes"][0]["extraMounts"]]
    assert paths == [CERTS_DIR]
    assert not node_files(settings, {}).pins_hosts


def test_hosts_toml_trusts_the_configured_ca() -> None:
    files = node_files(VARIANTS["ca-and-mirror"], PINS)
    assert files.copies == {"certs.d/lenovo:8443/ca.crt": Path("/etc/harbor/ca.pem")}
    hosts = tomllib.loads(files.texts["certs.d/lenovo:8443/hosts.toml"])
    assert hosts == {
        "server": "https://lenovo:8443",
        "host": {"https://lenovo:8443": {
            "capabilities": ["pull", "resolve"], "ca": f"{CERTS_DIR}/lenovo:8443/ca.crt"}},
    }


def test_insecure_registry_skips_verification_only() -> None:
    hosts = tomllib.loads(node_files(VARIANTS["insecure-node-image"], PINS).texts["certs.d/lenovo:8443/hosts.toml"])
    assert hosts["host"]["https://lenovo:8443"] == {"capabilities": ["pull", "resolve"], "skip_verify": True}


def test_docker_hub_pulls_go_through_the_harbor_proxy_project() -> None:
    files = node_files(VARIANTS["ca-and-mirror"], PINS)
    hub = tomllib.loads(files.texts["certs.d/docker.io/hosts.toml"])
    assert hub["server"] == "https://registry-1.docker.io"
    assert hub["host"] == {"https://lenovo:8443/v2/dockerhub-proxy": {
        "capabilities": ["pull", "resolve"], "ca": f"{CERTS_DIR}/lenovo:8443/ca.crt", "override_path": True}}


def test_a_mirror_on_another_host_gets_its_own_hosts_file_and_pin() -> None:
    settings = VARIANTS["http-mirror-elsewhere"]
    files = node_files(settings, {"lenovo": "192.168.1.20", "mirror.example": "192.168.1.30"})
    assert set(files.texts) >= {"certs.d/lenovo:8443/hosts.toml", "certs.d/mirror.example:5000/hosts.toml"}
    mirror = tomllib.loads(files.texts["certs.d/mirror.example:5000/hosts.toml"])
    assert mirror["server"] == "http://mirror.example:5000"
    assert files.texts["tekton-runner/hosts"] == "192.168.1.20 lenovo\n192.168.1.30 mirror.example\n"


def test_published_node_ports_are_this_clusters_block_only() -> None:
    config = generated(VARIANTS["published-ports"])
    mappings = config["nodes"][0]["extraPortMappings"]
    assert [m["hostPort"] for m in mappings] == [30100, 30101, 30102, 30103, 30104]
    assert all(m["containerPort"] == m["hostPort"] and m["listenAddress"] == "127.0.0.1" for m in mappings)
    [patch] = config["kubeadmConfigPatches"]
    assert yaml.safe_load(patch) == {
        "kind": "ClusterConfiguration", "apiServer": {"extraArgs": {"service-node-port-range": "30100-30104"}},
    }


def test_no_ports_are_published_unless_configured() -> None:
    config = generated(BASE)
    assert "extraPortMappings" not in config["nodes"][0]
    assert "kubeadmConfigPatches" not in config


def test_port_range_is_cut_into_whole_blocks() -> None:
    assert port_blocks((30100, 30112), 5) == [PortBlock(30100, 30104), PortBlock(30105, 30109)]
    assert port_blocks((30100, 30100), 1) == [PortBlock(30100, 30100)]
