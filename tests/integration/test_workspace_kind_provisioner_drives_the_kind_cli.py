"""KindProvisioner against a recording stand-in for the kind CLI and the fake Kubernetes API behind it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tekton_runner.manifests import Renderer
from tekton_runner.workspaces import (
    KindCli,
    KindFailed,
    KindMissing,
    KindProvisioner,
    PortsExhausted,
    WorkspaceSettings,
    WorkspaceTarget,
)
from tests.fakes import FakeKubeApi
from tests.integration.test_workspace_support import KindStandIn
from tests.unit.test_workspace_support import problems


@pytest.fixture
def kind(tmp_path: Path, fake_kube: FakeKubeApi) -> KindStandIn:
    return KindStandIn.install(tmp_path / "kind-cli", fake_kube.kubeconfig)


@pytest.fixture
def settings(tmp_path: Path, kind: KindStandIn) -> WorkspaceSettings:
    return WorkspaceSettings(
        provisioner="kind", registry_host="lenovo:8443", registry_address="192.168.1.20",
        registry_username="robot$ws", registry_password="s3cret", mirror_prefix="lenovo:8443/dockerhub-proxy",
        kind_binary=str(kind.binary), kind_kubeconfig_dir=tmp_path / "kubeconfigs",
        kind_state_dir=tmp_path / "state", kind_wait=240,
    )


RENDERER = Renderer()  # compiles the templates once, outside any event loop


def provisioner(settings: WorkspaceSettings, **cli: float) -> KindProvisioner:
    return KindProvisioner(RENDERER, settings, cli=KindCli(settings.kind_binary, **cli))


async def test_first_ensure_creates_the_cluster_with_the_exact_command(
    tmp_path: Path, kind: KindStandIn, settings: WorkspaceSettings, fake_kube: FakeKubeApi,
) -> None:
    target = await provisioner(settings).ensure("demo")

    kubeconfig = tmp_path / "kubeconfigs" / "ws-demo.yaml"
    config_file = tmp_path / "state" / "ws-demo" / "kind-config.yaml"
    assert target == WorkspaceTarget(
        name="demo", namespace="ws-demo", kubeconfig=kubeconfig, node_address=None, provisioner="kind",
    )
    assert kind.argvs() == [
        ["get", "clusters"],
        ["create", "cluster", "--name", "ws-demo", "--config", str(config_file), "--kubeconfig", str(kubeconfig),
         "--wait", "240s"],
    ]
    [create] = kind.creates()
    config = yaml.safe_load(create["config"])
    assert problems(config) == []
    assert config["name"] == "ws-demo"
    certs = tmp_path / "state" / "ws-demo" / "certs.d"
    assert (certs / "lenovo:8443" / "hosts.toml").is_file() and (certs / "docker.io" / "hosts.toml").is_file()
    assert (tmp_path / "state" / "ws-demo" / "tekton-runner" / "hosts").read_text() == "192.168.1.20 lenovo\n"
    assert kubeconfig.is_file()


async def test_the_workspace_namespace_and_pull_secret_land_in_the_new_cluster(
    settings: WorkspaceSettings, fake_kube: FakeKubeApi,
) -> None:
    await provisioner(settings).ensure("demo")

    namespace = fake_kube.get_object("namespaces", "ws-demo")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["tekton-runner.io/workspace"] == "demo"
    secret = fake_kube.get_object("secrets", "harbor-pull", "ws-demo")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["lenovo:8443"]["username"] == "robot$ws"


async def test_an_existing_cluster_is_reused(
    tmp_path: Path, fake_kube: FakeKubeApi, settings: WorkspaceSettings,
) -> None:
    kind = KindStandIn.install(tmp_path / "other-cli", fake_kube.kubeconfig, clusters=["ws-demo"])
    settings = replace(settings, kind_binary=str(kind.binary))
    kubeconfig = tmp_path / "kubeconfigs" / "ws-demo.yaml"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text(fake_kube.kubeconfig.read_text())

    target = await provisioner(settings).ensure("demo")

    assert kind.argvs() == [["get", "clusters"]]
    assert target.kubeconfig == kubeconfig
    assert fake_kube.get_object("namespaces", "ws-demo") is not None


async def test_a_lost_kubeconfig_is_exported_again_not_recreated(
    tmp_path: Path, fake_kube: FakeKubeApi, settings: WorkspaceSettings,
) -> None:
    kind = KindStandIn.install(tmp_path / "other-cli", fake_kube.kubeconfig, clusters=["ws-demo"])
    settings = replace(settings, kind_binary=str(kind.binary))

    await provisioner(settings).ensure("demo")

    kubeconfig = tmp_path / "kubeconfigs" / "ws-demo.yaml"
    assert kind.argvs() == [
        ["get", "clusters"], ["export", "kubeconfig", "--name", "ws-demo", "--kubeconfig", str(kubeconfig)],
    ]
    assert kubeconfig.is_file()


async def test_concurrent_ensures_of_one_workspace_create_it_once(
    kind: KindStandIn, settings: WorkspaceSettings,
) -> None:
    workspaces = provisioner(settings)

    targets = await asyncio.gather(*(workspaces.ensure("demo") for _ in range(5)))

    assert len(kind.creates()) == 1
    assert kind.clusters() == ["ws-demo"]
    assert len(set(targets)) == 1


async def test_different_workspaces_each_get_their_cluster(kind: KindStandIn, settings: WorkspaceSettings) -> None:
    workspaces = provisioner(settings)

    await asyncio.gather(workspaces.ensure("a"), workspaces.ensure("b"), workspaces.ensure("a"))

    assert sorted(call["argv"][3] for call in kind.creates()) == ["ws-a", "ws-b"]
    assert [target.name for target in await workspaces.list()] == ["a", "b"]


async def test_remove_deletes_the_cluster_its_kubeconfig_and_node_files(
    tmp_path: Path, kind: KindStandIn, settings: WorkspaceSettings,
) -> None:
    workspaces = provisioner(settings)
    await workspaces.ensure("demo")

    await workspaces.remove("demo")

    kubeconfig = tmp_path / "kubeconfigs" / "ws-demo.yaml"
    assert kind.argvs()[-2:] == [
        ["get", "clusters"], ["delete", "cluster", "--name", "ws-demo", "--kubeconfig", str(kubeconfig)],
    ]
    assert kind.clusters() == []
    assert not kubeconfig.exists()
    assert not (tmp_path / "state" / "ws-demo").exists()


async def test_removing_an_absent_workspace_runs_no_delete(kind: KindStandIn, settings: WorkspaceSettings) -> None:
    await provisioner(settings).remove("ghost")

    assert kind.argvs() == [["get", "clusters"]]


async def test_list_shows_workspace_clusters_only(
    tmp_path: Path, fake_kube: FakeKubeApi, settings: WorkspaceSettings,
) -> None:
    kind = KindStandIn.install(tmp_path / "other-cli", fake_kube.kubeconfig, clusters=["kind", "ws-a", "ws-b"])

    listed = await provisioner(replace(settings, kind_binary=str(kind.binary))).list()

    assert [(target.name, target.namespace, target.provisioner) for target in listed] == [
        ("a", "ws-a", "kind"), ("b", "ws-b", "kind"),
    ]


async def test_a_failed_create_reports_kinds_message_and_is_retried_later(
    kind: KindStandIn, settings: WorkspaceSettings,
) -> None:
    workspaces = provisioner(settings)
    kind.behave("create cluster", "fail")

    with pytest.raises(KindFailed, match="Cannot connect to the Docker daemon") as caught:
        await workspaces.ensure("demo")
    assert caught.value.temporary and caught.value.reason == "KindFailed"

    kind.behave("create cluster", "ok")
    await workspaces.ensure("demo")
    assert len(kind.creates()) == 2
    assert kind.clusters() == ["ws-demo"]


async def test_a_hung_kind_is_killed_at_its_deadline(kind: KindStandIn, settings: WorkspaceSettings) -> None:
    kind.behave("get clusters", "hang")

    with pytest.raises(KindFailed, match="did not finish"):
        await provisioner(settings, timeout=0.5).ensure("demo")

    [call] = kind.calls()
    with pytest.raises(ProcessLookupError):
        os.kill(call["pid"], 0)


async def test_a_missing_kind_binary_is_a_permanent_error(tmp_path: Path, settings: WorkspaceSettings) -> None:
    settings = replace(settings, kind_binary=str(tmp_path / "no-such-kind"))

    with pytest.raises(KindMissing) as caught:
        await provisioner(settings).ensure("demo")
    assert not caught.value.temporary


async def test_published_node_ports_give_each_cluster_its_own_block(
    kind: KindStandIn, settings: WorkspaceSettings,
) -> None:
    settings = replace(settings, kind_node_ports=(30100, 30119), kind_ports_per_workspace=10)
    workspaces = provisioner(settings)

    a = await workspaces.ensure("a")
    await workspaces.ensure("b")
    with pytest.raises(PortsExhausted):
        await workspaces.ensure("c")
    await workspaces.remove("a")
    await workspaces.ensure("c")

    assert a.node_address == "127.0.0.1"
    ranges = {}
    for create in kind.creates():
        config = yaml.safe_load(create["config"])
        assert problems(config) == []
        ports = [mapping["hostPort"] for mapping in config["nodes"][0]["extraPortMappings"]]
        ranges[config["name"]] = (ports[0], ports[-1])
    assert ranges == {"ws-a": (30100, 30109), "ws-b": (30110, 30119), "ws-c": (30100, 30109)}


async def test_an_invalid_workspace_name_never_reaches_kind(kind: KindStandIn, settings: WorkspaceSettings) -> None:
    from tekton_runner.workspaces import InvalidWorkspace

    with pytest.raises(InvalidWorkspace):
        await provisioner(settings).ensure("Bad_Name;rm -rf")
    assert kind.calls() == []
