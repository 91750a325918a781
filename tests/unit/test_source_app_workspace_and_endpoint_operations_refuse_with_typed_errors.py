"""Uploads, archive links, apps, workspaces and endpoints: each refusal is a typed error, and nothing is kept."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tekton_runner.kube import KubeError
from tekton_runner.models.apps import AppRegistration
from tekton_runner.service.apps import Apps
from tekton_runner.service.endpoints import Endpoints
from tekton_runner.service.errors import (
    AppNotFound,
    ArchiveLinkUnknown,
    InvalidField,
    NoEndpoint,
    PortTaken,
    TooLarge,
    TriggerNotApplied,
    TriggerNotDeleted,
    WorkspaceNotFound,
)
from tekton_runner.service.workspaces import Workspaces
from tests.unit.service_support import Domain, domain, spec


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Dockerfile", "FROM scratch\n")
    return buffer.getvalue()


def uploads_left(d: Domain) -> list[Path]:
    return sorted(d.settings.uploads_dir.glob("*")) if d.settings.uploads_dir.exists() else []


@pytest.mark.allow_blocking  # the test lists the upload directory itself
async def test_an_empty_or_broken_upload_is_an_invalid_body_and_leaves_no_file(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        for body, reason in ((b"", "the zip is empty"), (b"not a zip at all", "not a zip archive")):
            with pytest.raises(InvalidField) as caught:
                await d.sources().upload(chunks(body))
            assert caught.value.field == "body" and reason in caught.value.reason
        assert uploads_left(d) == []


@pytest.mark.allow_blocking
async def test_an_upload_past_the_limit_is_too_large_and_leaves_no_file(tmp_path: Path) -> None:
    async with domain(tmp_path, max_upload_bytes=1024) as d:
        with pytest.raises(TooLarge) as caught:
            await d.sources().upload(chunks(b"x" * 1000, b"x" * 1000))
        assert str(caught.value) == "the zip is larger than 1024 bytes"
        assert uploads_left(d) == []


async def test_a_stored_upload_can_be_named_by_a_run(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        receipt = await d.sources().upload(chunks(a_zip()))
        assert (await d.uploads.get(receipt.upload_id)) is not None


async def test_an_unknown_archive_link_is_archive_link_unknown(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        with pytest.raises(ArchiveLinkUnknown):
            await d.sources().redeem("no-such-token")
        with pytest.raises(ArchiveLinkUnknown):
            await d.sources().archive_size("no-such-token")


async def test_an_app_never_deployed_has_no_endpoint(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        endpoints = Endpoints(d.settings, d.runs, d.ports, d.view)  # type: ignore[arg-type]
        with pytest.raises(NoEndpoint, match="demo/shop has no deployed endpoint"):
            await endpoints.endpoint("demo", "shop")
        assert (await endpoints.external_map()).mappings == []


class Provisioner:
    async def list(self) -> list[Any]:
        return [SimpleNamespace(name="known", namespace="ws-known", provisioner="namespace", kubeconfig=None)]


async def test_a_workspace_nobody_knows_is_not_found_and_nothing_is_removed(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        workspaces = Workspaces(d.runs, d.ports, SimpleNamespace(provisioner=Provisioner()),  # type: ignore[arg-type]
                                d.orchestrator)  # type: ignore[arg-type]
        for name in ("never", "Not_A_Label", "x" * 41):
            with pytest.raises(WorkspaceNotFound) as caught:
                await workspaces.delete_workspace(name)
            assert caught.value.name == name
        assert d.orchestrator.removed_workspaces == []
        assert (await workspaces.delete_workspace("known")).workspace == "known"
        assert d.orchestrator.removed_workspaces == ["known"]


class RefusingKube:
    """A build cluster whose API server refuses every change."""

    def __init__(self) -> None:
        self.calls = 0

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        raise KubeError("triggers.tekton.dev is forbidden", status=403)

    async def delete(self, *args: Any) -> bool:
        self.calls += 1
        raise KubeError("triggers.tekton.dev is forbidden", status=403)


class Renderer:
    def render(self, template: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"kind": "Trigger", "metadata": {"name": "tekton-runner-app-" + values["app_id"]}}]


def registration(**overrides: Any) -> AppRegistration:
    body = spec(source={"url": "https://git.example.com/team/shop.git", "branch": "main"},
                webhook={"name": "shop-webhook", "key": "secret"}, **overrides)
    return AppRegistration.model_validate(body)


def apps_on(d: Domain, kube: RefusingKube) -> Apps:
    ctx = SimpleNamespace(settings=d.settings, ports=d.ports, apps=d.apps, kube=kube, renderer=Renderer())
    return Apps(ctx, d.view)  # type: ignore[arg-type]


async def test_a_trigger_the_cluster_refuses_is_trigger_not_applied_and_the_app_is_not_stored(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        with pytest.raises(TriggerNotApplied) as caught:
            await apps_on(d, RefusingKube()).register_app(registration())
        assert str(caught.value) == "the webhook Trigger could not be applied: triggers.tekton.dev is forbidden"
        assert await d.apps.all() == []


async def test_a_taken_port_refuses_the_registration_before_the_cluster_is_asked(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        await d.ports.allocate(workspace="other", app="blog", run_id="r-0000000000000001", requested=18739,
                               port_range=(18000, 18999))
        kube = RefusingKube()
        with pytest.raises(PortTaken):
            await apps_on(d, kube).register_app(registration(expose={"external_port": 18739}))
        assert kube.calls == 0


async def test_an_unknown_app_is_app_not_found_and_a_refused_delete_is_trigger_not_deleted(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        kube = RefusingKube()
        apps = apps_on(d, kube)
        for operation in (apps.app, apps.unregister_app):
            with pytest.raises(AppNotFound, match="no app 'nope'"):
                await operation("nope")
        assert kube.calls == 0
        stored, _ = await d.apps.save(registration(), "harbor.test/library/demo-shop")
        with pytest.raises(TriggerNotDeleted, match="could not be deleted"):
            await apps.unregister_app(stored.id)
        assert await d.apps.get(stored.id) is not None
