"""The runs service says what is wrong with a request as a typed error, and stores nothing then."""

from __future__ import annotations

from pathlib import Path

import pytest

from tekton_runner.models.api import RunsQuery
from tekton_runner.models.spec import RunSpec
from tekton_runner.service.errors import IdempotencyKeyReused, InvalidField, PortTaken, RunNotFound
from tests.unit.service_support import domain, spec


async def test_an_unknown_or_malformed_run_id_is_run_not_found(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        runs = d.run_service()
        for run_id in ("r-0123456789abcdef", "../etc/passwd"):
            with pytest.raises(RunNotFound) as caught:
                await runs.get(run_id)
            assert caught.value.run_id == run_id and str(caught.value) == f"no run {run_id!r}"
        with pytest.raises(RunNotFound):
            await runs.delete("r-0123456789abcdef")


async def test_a_zip_source_without_its_upload_is_an_invalid_upload_id(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        request = RunSpec.model_validate(spec(source={"type": "zip", "upload_id": "u-0123456789abcdef"}))
        with pytest.raises(InvalidField) as caught:
            await d.run_service().create_run(request)
        assert caught.value.field == "source.upload_id"
        assert caught.value.reason == "no upload u-0123456789abcdef; POST the zip to /sources first"
        assert await d.runs.list() == [] and d.orchestrator.submitted == []


async def test_a_local_source_outside_the_allowed_roots_is_an_invalid_path(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    async with domain(tmp_path) as d:
        request = RunSpec.model_validate(spec(source={"type": "local", "path": str(outside)}))
        with pytest.raises(InvalidField) as caught:
            await d.run_service().create_run(request)
        assert caught.value.field == "source.path"
        assert caught.value.reason == f"must be a directory under an allowed root ({tmp_path / 'src'})"
        assert await d.runs.list() == []


async def test_local_sources_are_refused_when_no_root_is_configured(tmp_path: Path) -> None:
    async with domain(tmp_path, local_roots=()) as d:
        request = RunSpec.model_validate(spec(source={"type": "local", "path": str(tmp_path)}))
        with pytest.raises(InvalidField, match="none configured"):
            await d.run_service().create_run(request)


async def test_an_external_port_of_another_app_is_taken_by_that_app(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        await d.ports.allocate(workspace="other", app="blog", run_id="r-0000000000000001", requested=18739,
                               port_range=(18000, 18999))
        request = RunSpec.model_validate(spec(expose={"external_port": 18739}))
        with pytest.raises(PortTaken) as caught:
            await d.run_service().create_run(request)
        assert (caught.value.port, caught.value.owner) == (18739, "other/blog")
        assert caught.value.reason == "taken by other/blog"
        assert await d.runs.list() == []


async def test_the_apps_own_external_port_is_not_taken(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        await d.ports.allocate(workspace="demo", app="shop", run_id="r-0000000000000001", requested=18739,
                               port_range=(18000, 18999))
        submission = await d.run_service().create_run(RunSpec.model_validate(spec(expose={"external_port": 18739})))
        assert d.orchestrator.submitted == [submission.run.id]


async def test_an_external_port_held_by_another_process_is_taken_without_an_owner(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        d.view.held = frozenset({18740})
        with pytest.raises(PortTaken) as caught:
            await d.run_service().create_run(RunSpec.model_validate(spec(expose={"external_port": 18740})))
        assert caught.value.owner is None and caught.value.reason == "held by another process"
        assert str(caught.value) == "external port 18740 is held by another process on this host"


async def test_a_retry_with_the_same_key_gets_the_first_run_and_starts_no_second(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        runs, request = d.run_service(), RunSpec.model_validate(spec())
        first = await runs.create_run(request, "key-1")
        again = await runs.create_run(request, "key-1")
        assert not first.replayed and again.replayed and again.run.id == first.run.id
        assert d.orchestrator.submitted == [first.run.id]
        page, _ = await runs.list(RunsQuery())
        assert [run.id for run in page] == [first.run.id]


async def test_the_same_key_with_another_request_is_idempotency_key_reused(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        runs = d.run_service()
        first = await runs.create_run(RunSpec.model_validate(spec()), "key-1")
        with pytest.raises(IdempotencyKeyReused) as caught:
            await runs.create_run(RunSpec.model_validate(spec(workspace="other")), "key-1")
        assert caught.value.run_id == first.run.id
        assert d.orchestrator.submitted == [first.run.id]


async def test_a_stored_run_is_pending_with_its_image_and_handed_to_the_chain(tmp_path: Path) -> None:
    async with domain(tmp_path) as d:
        submission = await d.run_service().create_run(RunSpec.model_validate(spec()))
        stored = await d.runs.get(submission.run.id)
        assert stored.state.value == "pending"
        assert stored.image == f"harbor.test/library/demo-shop:{stored.id}"
        assert d.orchestrator.submitted == [stored.id]
