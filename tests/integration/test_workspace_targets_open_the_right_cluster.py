"""provisioner_for picks the configured provisioner; kube_for talks to the cluster a target names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tekton_runner.kube import Kube
from tekton_runner.manifests import Renderer
from tekton_runner.workspaces import (
    KindProvisioner,
    NamespaceProvisioner,
    WorkspaceSettings,
    WorkspaceTarget,
    kube_for,
    provisioner_for,
)
from tests.fakes import FakeKubeApi

RENDERER = Renderer()  # compiles the templates once, outside any event loop


async def test_the_configured_provisioner_is_built(tmp_path: Path, fake_kube: FakeKubeApi) -> None:
    settings = WorkspaceSettings(registry_host="harbor.test",
                                 kind_kubeconfig_dir=tmp_path / "k", kind_state_dir=tmp_path / "s")
    async with Kube.connect(str(fake_kube.kubeconfig)) as kube:
        assert isinstance(provisioner_for(settings, kube=kube, renderer=RENDERER), NamespaceProvisioner)
        kind = provisioner_for(replace(settings, provisioner="kind"), kube=kube, renderer=RENDERER)
        assert isinstance(kind, KindProvisioner)


async def test_a_namespace_target_uses_the_runners_own_kube(fake_kube: FakeKubeApi) -> None:
    target = WorkspaceTarget("demo", "ws-demo", kubeconfig=None, node_address=None, provisioner="namespace")
    async with Kube.connect(str(fake_kube.kubeconfig)) as kube, kube_for(target, kube) as chosen:
        assert chosen is kube


async def test_a_kind_target_gets_a_connection_from_its_kubeconfig(fake_kube: FakeKubeApi) -> None:
    fake_kube.add_namespace("ws-demo")
    target = WorkspaceTarget("demo", "ws-demo", kubeconfig=fake_kube.kubeconfig, node_address=None,
                             provisioner="kind")
    async with Kube.connect(str(fake_kube.kubeconfig)) as kube, kube_for(target, kube) as chosen:
        assert chosen is not kube
        assert (await chosen.get("v1", "Namespace", "ws-demo"))["metadata"]["name"] == "ws-demo"
