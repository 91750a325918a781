"""The store's promises hold the same on the embedded SQLite file and on PostgreSQL: one suite, both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tekton_runner.models.apps import AppRegistration
from tekton_runner.models.ids import RunId, UploadId
from tekton_runner.models.progress import Progress, Subject
from tekton_runner.models.runs import RunState, StepName, StepState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store import run_writes
from tekton_runner.store.apps import AppStore
from tekton_runner.store.database import Database
from tekton_runner.store.events import EventStore
from tekton_runner.store.opening import open_database
from tekton_runner.store.ports import PortRangeExhausted, PortStore, PortTaken
from tekton_runner.store.progress_feed import ProgressFeed
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import DuplicateRequest, RunExists, RunStore
from tekton_runner.store.schema import MIGRATIONS
from tekton_runner.store.uploads import CHUNK_BYTES, Upload, UploadStore
from tests.databases import both_backends

pytestmark = both_backends

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})


async def _run(database: Database, run_id: str = "r-0000000000000001", key: str | None = None) -> RunId:
    await RunWrites(database).create(RunId(run_id), SPEC, f"harbor.test/library/demo-shop:{run_id}",
                                     idempotency_key=key)
    return RunId(run_id)


async def test_a_created_run_reads_back_with_every_step_pending(database: Database) -> None:
    run_id = await _run(database)
    run = await RunStore(database).get(run_id)
    assert run.state == RunState.PENDING and run.spec == SPEC and not run.pushed
    assert [step.name for step in run.steps] == list(StepName)
    assert {step.state for step in run.steps} == {StepState.PENDING}
    assert [r.id for r in await RunStore(database).list(states=[RunState.PENDING], workspace="demo")] == [run_id]


async def test_a_transition_happens_once_from_its_allowed_states(database: Database) -> None:
    run_id = await _run(database)
    writes = RunWrites(database)
    assert await writes.transition(run_id, allowed=[RunState.PENDING], to=RunState.FAILED, reason="X")
    assert not await writes.transition(run_id, allowed=[RunState.PENDING], to=RunState.FAILED, reason="Y")
    run = await RunStore(database).get(run_id)
    assert (run.state, run.reason) == (RunState.FAILED, "X")


async def test_a_used_idempotency_key_names_the_first_run_and_a_used_id_is_refused(database: Database) -> None:
    first = await _run(database, key="k-1")
    with pytest.raises(DuplicateRequest) as duplicate:
        await _run(database, "r-0000000000000002", key="k-1")
    assert duplicate.value.run_id == first
    with pytest.raises(RunExists):
        await _run(database, first)
    assert (await RunStore(database).find_by_key("k-1")).id == first  # type: ignore[union-attr]
    assert len(await RunStore(database).list()) == 1


async def test_transitions_are_numbered_per_run_and_across_runs(database: Database) -> None:
    first, second = await _run(database), await _run(database, "r-0000000000000002")
    writes, at = RunWrites(database), datetime(2026, 12, 1, tzinfo=UTC)
    for run_id in (first, second, first):
        await writes.append_progress(Progress(run_id=run_id, seq=0, at=at, subject=Subject.RUN, step=None,
                                              state="pending", reason="", message=""))
    assert [entry.seq for entry in await RunStore(database).progress(first)] == [1, 2]
    feed = ProgressFeed(database)
    numbered = await feed.after(0)
    assert [(n.number, n.entry.run_id) for n in numbered] == [(1, first), (2, second), (3, first)]
    assert await feed.last_number() == 3 and await feed.delivered("hook") is None
    await feed.mark_delivered("hook", 2)
    await feed.mark_delivered("hook", 3)
    assert await feed.delivered("hook") == 3


async def test_a_run_keeps_only_its_newest_transitions(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_writes, "PROGRESS_PER_RUN", 3)
    run_id, at = await _run(database), datetime(2026, 12, 1, tzinfo=UTC)
    for _ in range(7):
        await RunWrites(database).append_progress(Progress(run_id=run_id, seq=0, at=at, subject=Subject.RUN,
                                                           step=None, state="pending", reason="", message=""))
    assert [entry.seq for entry in await RunStore(database).progress(run_id)] == [5, 6, 7]
    assert [n.number for n in await ProgressFeed(database).after(0)] == [5, 6, 7]


async def test_a_seen_event_is_refused_and_each_subject_keeps_its_newest(database: Database) -> None:
    events = EventStore(database)
    assert await events.record_event("uid/a", run_id="r-1", ce_id="1", type_="t", keep=4)
    assert not await events.record_event("uid/a", run_id="r-1", ce_id="1", type_="t", keep=4)
    for index in range(10):
        assert await events.record_event(f"uid/{index}", run_id="r-1", ce_id=str(index), type_="t", keep=4)
    assert await events.record_event("uid/other", run_id="r-2", ce_id="x", type_="t", keep=4)
    assert await events.count_events() == 5
    assert not await events.record_event("uid/9", run_id="r-1", ce_id="9", type_="t", keep=4)  # the newest stays


async def test_an_app_keeps_its_port_and_a_taken_or_exhausted_range_is_refused(database: Database) -> None:
    ports = PortStore(database)
    first = await ports.allocate(workspace="demo", app="shop", run_id="r-1", requested=None, port_range=(18000, 18001))
    again = await ports.allocate(workspace="demo", app="shop", run_id="r-2", requested=None, port_range=(18000, 18001))
    assert first.port == again.port == 18000 and again.run_id == "r-2"
    with pytest.raises(PortTaken, match="demo/shop"):
        await ports.allocate(workspace="demo", app="cart", run_id="r-3", requested=18000, port_range=(18000, 18001))
    await ports.allocate(workspace="demo", app="cart", run_id="r-3", requested=None, port_range=(18000, 18001))
    with pytest.raises(PortRangeExhausted):
        await ports.allocate(workspace="demo", app="api", run_id="r-4", requested=None, port_range=(18000, 18001))
    moved = await ports.allocate(workspace="demo", app="shop", run_id="r-5", requested=18500, port_range=(18000, 18001))
    assert moved.port == 18500
    await ports.set_target(18500, "10.0.0.9", 30080)
    assert (await ports.get("demo", "shop")).target_port == 30080  # type: ignore[union-attr]
    assert [m.port for m in await ports.release(workspace="demo")] == [18001, 18500]
    assert await ports.all() == []


async def test_an_app_registration_is_new_once_then_replaced(database: Database) -> None:
    apps = AppStore(database)
    registration = AppRegistration.model_validate({
        "workspace": "demo", "app": {"name": "shop", "port": 8080},
        "source": {"url": "https://git.example.com/team/shop.git", "branch": "main"}})
    saved, new = await apps.save(registration, "harbor.test/library/demo-shop")
    assert new and saved.image_repository == "harbor.test/library/demo-shop"
    saved, new = await apps.save(registration, "harbor.test/library/other")
    assert not new and saved.image_repository == "harbor.test/library/other"
    assert [app.id for app in await apps.all()] == [registration.app_id]
    assert await apps.delete(registration.app_id) and await apps.all() == []


async def test_an_upload_is_served_once_through_its_token(database: Database, tmp_path: Path) -> None:
    body = bytes(range(256)) * (CHUNK_BYTES // 128 + 3)  # more than two chunks
    path = tmp_path / "u.zip"
    path.write_bytes(body)
    uploads = UploadStore(database)
    stored = await uploads.add(Upload(UploadId("u-0000000000000001"), path, len(body), "digest"))
    assert await uploads.get("u-0000000000000001") == stored
    token = await uploads.issue_token(RunId("r-1"), stored)
    archive = await uploads.unredeemed(token)
    assert archive is not None and await uploads.unredeemed(token) == archive
    assert await uploads.redeem(token) == archive and await uploads.redeem(token) is None
    if uploads.holds_bytes:  # PostgreSQL: the bytes are in the database, the file is no longer needed
        path.unlink()
        assert archive.path is None and archive.size == len(body)
        assert b"".join([chunk async for chunk in uploads.content(stored.id)]) == body
    else:
        assert archive.path == path


async def test_opening_again_keeps_the_schema_at_the_latest_version(database_url: str | None, tmp_path: Path) -> None:
    for _ in range(2):
        async with open_database(url=database_url, path=tmp_path / "state.sqlite3") as database:
            if database.dialect.name == "sqlite":
                row = await database.fetch_one("PRAGMA user_version")
            else:
                row = await database.fetch_one("SELECT version FROM schema_version")
            assert row is not None and row[0] == MIGRATIONS[-1].version


async def test_each_apps_newest_run_is_found_and_only_live_apps_when_asked(database: Database) -> None:
    writes = RunWrites(database)
    for run_id, app, state in (("r-00000000000000a1", "shop", RunState.SUCCEEDED),
                               ("r-00000000000000a2", "shop", RunState.FAILED),  # newest of shop: not live
                               ("r-00000000000000b1", "cart", RunState.SUCCEEDED)):
        spec = SPEC.model_copy(update={"app": SPEC.app.model_copy(update={"name": app})})
        await writes.create(RunId(run_id), spec, f"harbor.test/library/demo-{app}:{run_id}")
        await writes.transition(RunId(run_id), allowed=[RunState.PENDING], to=state)
    newest = {run.app: run.id for run in await RunStore(database).newest_per_app()}
    assert newest == {"shop": "r-00000000000000a2", "cart": "r-00000000000000b1"}
    live = await RunStore(database).newest_per_app(RunState.SUCCEEDED)
    assert [(run.app, run.id) for run in live] == [("cart", "r-00000000000000b1")]
    assert [step.name for step in live[0].steps] == list(StepName)
