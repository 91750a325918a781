"""NamespaceProvisioner against the fake Kubernetes API: labelled namespace, pull Secret, safe removal."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from tekton_runner.kube import Kube
from tekton_runner.manifests import Renderer
from tekton_runner.workspaces import (
    NamespaceProvisioner,
    RegistryConfigError,
    WorkspaceBusy,
    WorkspaceConflict,
    WorkspaceSettings,
    WorkspaceTarget,
)
from tests.fakes import FakeKubeApi

RENDERER = Renderer()  # compiles the templates once, outside any event loop
SETTINGS = WorkspaceSettings(registry_host="lenovo:8443", registry_username="robot$ws", registry_password="s3cret")
MANAGED = {"tekton-runner.io/workspace": "demo", "app.kubernetes.io/managed-by": "tekton-runner"}


@pytest_asyncio.fixture
async def kube(fake_kube: FakeKubeApi) -> AsyncIterator[Kube]:
    async with Kube.connect(str(fake_kube.kubeconfig)) as connected:
        yield connected


def pull_auths(fake_kube: FakeKubeApi, name: str = "harbor-pull") -> dict[str, object]:
    secret = fake_kube.get_object("secrets", name, "ws-demo")
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    auths: dict[str, object] = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    return auths


async def test_ensure_creates_a_labelled_namespace_with_the_harbor_pull_secret(
    kube: Kube, fake_kube: FakeKubeApi,
) -> None:
    target = await NamespaceProvisioner(kube, RENDERER, SETTINGS).ensure("demo")

    assert target == WorkspaceTarget(
        name="demo", namespace="ws-demo", kubeconfig=None, node_address=None, provisioner="namespace",
    )
    namespace = fake_kube.get_object("namespaces", "ws-demo")
    assert namespace is not None and namespace["metadata"]["labels"] == MANAGED
    auths = pull_auths(fake_kube)
    assert list(auths) == ["lenovo:8443"]
    account = fake_kube.get_object("serviceaccounts", "default", "ws-demo")
    assert account is not None and account["imagePullSecrets"] == [{"name": "harbor-pull"}]
    assert {request.query.get("fieldManager") for request in fake_kube.applies()} == {"tekton-runner"}


async def test_an_existing_docker_config_is_used_as_given(
    tmp_path: Path, kube: Kube, fake_kube: FakeKubeApi,
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "auths": {"lenovo:8443": {"auth": base64.b64encode(b"robot:pw").decode()}}, "credsStore": "desktop",
    }))
    settings = WorkspaceSettings(registry_host="lenovo:8443", registry_docker_config=config)

    await NamespaceProvisioner(kube, RENDERER, settings).ensure("demo")

    assert pull_auths(fake_kube) == {"lenovo:8443": {"auth": base64.b64encode(b"robot:pw").decode()}}


async def test_an_unusable_docker_config_is_a_clear_error(tmp_path: Path, kube: Kube) -> None:
    settings = WorkspaceSettings(registry_host="harbor.test", registry_docker_config=tmp_path / "missing.json")
    with pytest.raises(RegistryConfigError, match="cannot read registry_docker_config"):
        await NamespaceProvisioner(kube, RENDERER, settings).ensure("demo")

    (tmp_path / "helpers.json").write_text(json.dumps({"credHelpers": {"lenovo:8443": "pass"}}))
    settings = WorkspaceSettings(registry_host="harbor.test", registry_docker_config=tmp_path / "helpers.json")
    with pytest.raises(RegistryConfigError, match="no `auths`"):
        await NamespaceProvisioner(kube, RENDERER, settings).ensure("demo")


async def test_without_credentials_no_secret_is_made(kube: Kube, fake_kube: FakeKubeApi) -> None:
    await NamespaceProvisioner(kube, RENDERER, WorkspaceSettings(registry_host="harbor.test")).ensure("demo")

    assert fake_kube.get_object("namespaces", "ws-demo") is not None
    assert fake_kube.objects("secrets", "ws-demo") == []


async def test_ensure_is_idempotent_and_safe_concurrently(kube: Kube, fake_kube: FakeKubeApi) -> None:
    workspaces = NamespaceProvisioner(kube, RENDERER, SETTINGS, node_address="10.0.0.5")

    targets = await asyncio.gather(*(workspaces.ensure("demo") for _ in range(5)))

    assert {target.node_address for target in targets} == {"10.0.0.5"}
    assert len(fake_kube.objects("namespaces")) == 1
    assert [secret["metadata"]["name"] for secret in fake_kube.objects("secrets", "ws-demo")] == ["harbor-pull"]


async def test_a_namespace_the_runner_does_not_manage_is_left_alone(kube: Kube, fake_kube: FakeKubeApi) -> None:
    fake_kube.add_namespace("ws-demo", {"team": "payments"})
    workspaces = NamespaceProvisioner(kube, RENDERER, SETTINGS)

    with pytest.raises(WorkspaceConflict, match="not a tekton-runner workspace"):
        await workspaces.ensure("demo")
    with pytest.raises(WorkspaceConflict):
        await workspaces.remove("demo")

    assert fake_kube.applies() == []
    assert fake_kube.requests_to("DELETE") == []


async def test_a_terminating_namespace_is_a_temporary_error(kube: Kube, fake_kube: FakeKubeApi) -> None:
    fake_kube.put_object({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ws-demo", "labels": MANAGED},
        "status": {"phase": "Terminating"},
    })

    with pytest.raises(WorkspaceBusy) as caught:
        await NamespaceProvisioner(kube, RENDERER, SETTINGS).ensure("demo")
    assert caught.value.temporary
    await NamespaceProvisioner(kube, RENDERER, SETTINGS).remove("demo")  # already on its way out
    assert fake_kube.requests_to("DELETE") == []


async def test_remove_deletes_the_namespace_and_what_is_in_it(kube: Kube, fake_kube: FakeKubeApi) -> None:
    workspaces = NamespaceProvisioner(kube, RENDERER, SETTINGS)
    await workspaces.ensure("demo")

    await workspaces.remove("demo")
    await workspaces.remove("demo")  # a second time finds nothing: also fine

    assert fake_kube.get_object("namespaces", "ws-demo") is None
    assert fake_kube.objects("secrets", "ws-demo") == []
    assert len(fake_kube.requests_to("DELETE", r"/namespaces/ws-demo$")) == 1


async def test_list_shows_managed_workspaces_only(kube: Kube, fake_kube: FakeKubeApi) -> None:
    workspaces = NamespaceProvisioner(kube, RENDERER, replace(SETTINGS, registry_username=None,
                                                              registry_password=None))
    await workspaces.ensure("b")
    await workspaces.ensure("a")
    fake_kube.add_namespace("ws-c", {"app.kubernetes.io/managed-by": "tekton-runner"})  # no workspace label
    fake_kube.add_namespace("other", {"tekton-runner.io/workspace": "x", "app.kubernetes.io/managed-by": "helm"})
    fake_kube.add_namespace("ws-renamed", {"tekton-runner.io/workspace": "d",
                                           "app.kubernetes.io/managed-by": "tekton-runner"})

    assert [target.name for target in await workspaces.list()] == ["a", "b"]
