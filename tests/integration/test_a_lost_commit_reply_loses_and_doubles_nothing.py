"""A COMMIT the server made but whose reply was lost (the connection dropped) answers each caller once, as stored.

On PostgreSQL the reply is really lost: a proxy between the store and the server forwards the COMMIT and cuts
the connection once the server has answered it (tests/lossy_postgres.py). On both backends a store whose
transactions commit and then raise the error of a dropped connection shows the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tekton_runner.models.ids import EventId, RunId, new_run_id
from tekton_runner.models.progress import Progress, Subject
from tekton_runner.models.runs import Run, RunState, Step, StepName, StepState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Connection, Database
from tekton_runner.store.postgres import PostgresDatabase
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import DuplicateRequest, RunExists, RunStore
from tests.databases import PassingThrough, both_backends, fresh_postgres_database
from tests.lossy_postgres import LossyProxy

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})
CREATES = b"INSERT INTO runs"
ACCEPTS = b"UPDATE runs SET state"


@pytest_asyncio.fixture
async def direct_url(postgres_server: str) -> str:
    """A fresh database, reached directly (to read what the server holds)."""
    return await fresh_postgres_database(postgres_server)


@pytest_asyncio.fixture
async def proxy(direct_url: str) -> AsyncIterator[LossyProxy]:
    async with LossyProxy(direct_url).running() as running:
        yield running


@pytest_asyncio.fixture
async def store(proxy: LossyProxy) -> AsyncIterator[Database]:
    """The store, reaching PostgreSQL through the proxy."""
    async with PostgresDatabase.open(proxy.url) as opened:
        yield opened


async def _count(url: str, sql: str, *params: Any) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(sql, *params))
    finally:
        await connection.close()


def _created(run_id: RunId) -> Progress:
    return Progress(run_id=run_id, at=datetime(2026, 12, 2, tzinfo=UTC), subject=Subject.RUN, state="pending",
                    reason="Created")


async def _create(writes: RunWrites, key: str | None = None) -> tuple[Run, Progress | None]:
    run_id = new_run_id()
    return await writes.create(run_id, SPEC, f"harbor.test/library/demo-shop:{run_id}", idempotency_key=key,
                               progress=_created(run_id))


async def _assert_each_stored_once(url: str, answers: Iterable[tuple[Run, Progress | None]]) -> None:
    """Each answered run is in the server once, with its steps once and its first transition once."""
    for run, entry in answers:
        assert entry is not None and (entry.run_id, entry.seq, entry.reason) == (run.id, 1, "Created")
        assert await _count(url, "SELECT COUNT(*) FROM runs WHERE id = $1", run.id) == 1
        assert await _count(url, "SELECT COUNT(*) FROM steps WHERE run_id = $1", run.id) == len(StepName)
        assert await _count(url, "SELECT COUNT(*) FROM progress WHERE run_id = $1", run.id) == 1


async def test_creates_whose_shared_commit_reply_is_lost_each_get_their_run_once(
        store: Database, proxy: LossyProxy, direct_url: str) -> None:
    writes = RunWrites(store)
    used, _ = await _create(writes, key="used")
    proxy.lose_commit_reply(CREATES, skip=1)  # the first create commits alone; the others share the next commit
    keys = [None, "k-2", None, "used", "k-5", None, "k-7", None, None, "k-10"]
    answers = await asyncio.gather(*(_create(writes, key) for key in keys), return_exceptions=True)

    assert proxy.lost == 1
    # The first alone, the nine in one (lost), then the four of those without a key alone, each meeting its row
    # (one with a key finds its own key first; "used" finds another run's).
    assert proxy.executed == 1 + 1 + 4
    refused = answers.pop(3)
    assert isinstance(refused, DuplicateRequest) and refused.run_id == used.id  # another run's key: a replay
    created = [answer for answer in answers if isinstance(answer, tuple)]
    assert len(created) == 9, answers
    assert len({run.id for run, _ in created}) == 9
    stored = {run.id: run for run in await RunStore(store).list(limit=100)}
    assert [stored[run.id] for run, _ in created] == [run for run, _ in created]  # answered as read back
    await _assert_each_stored_once(direct_url, created)
    assert await _count(direct_url, "SELECT COUNT(*) FROM runs") == 10
    numbers = await _count(direct_url, "SELECT COUNT(DISTINCT number) FROM progress")
    assert numbers == await _count(direct_url, "SELECT MAX(number) FROM progress") == 10
    for key, (run, _) in zip([key for key in keys if key != "used"], created, strict=True):
        if key is not None:
            assert (await RunStore(store).find_by_key(key)) == stored[run.id]


@pytest.mark.parametrize(("key", "inserts"), [(None, 2), ("ui-click", 1)])
async def test_a_create_alone_whose_commit_reply_is_lost_gets_its_run_once(
        store: Database, proxy: LossyProxy, direct_url: str, key: str | None, inserts: int) -> None:
    proxy.lose_commit_reply(CREATES)
    answer = await _create(RunWrites(store), key=key)
    # Written again, it meets its own row: at the insert (its id), or before it (its own key).
    assert proxy.lost == 1 and proxy.executed == inserts
    assert answer[0] == await RunStore(store).get(answer[0].id)
    await _assert_each_stored_once(direct_url, [answer])
    if key is not None:
        assert (await RunStore(store).find_by_key(key)) == answer[0]


async def test_a_redeploy_whose_commit_reply_is_lost_gets_its_run_once(
        store: Database, proxy: LossyProxy, direct_url: str) -> None:
    writes = RunWrites(store)
    source, _ = await _create(writes)
    source = source.model_copy(update={"state": RunState.SUCCEEDED, "digest": "sha256:" + "ab" * 32})
    build = Step(name=StepName.BUILD, state=StepState.SKIPPED, reason="Redeploy")
    proxy.lose_commit_reply(CREATES)
    run_id = new_run_id()
    run = await writes.create_redeploy(run_id, source, build, idempotency_key="redeploy-1")
    assert proxy.lost == 1
    assert (run.id, run.state, run.redeploy_of) == (run_id, RunState.DEPLOYING, source.id)
    assert run.step(StepName.BUILD).reason == "Redeploy"
    assert await _count(direct_url, "SELECT COUNT(*) FROM runs WHERE id = $1", run_id) == 1
    assert await _count(direct_url, "SELECT COUNT(*) FROM steps WHERE run_id = $1", run_id) == len(StepName)


async def test_an_accept_whose_commit_reply_is_lost_moves_its_run_once(
        store: Database, proxy: LossyProxy, direct_url: str) -> None:
    writes = RunWrites(store)
    runs = [run for run, _ in [await _create(writes) for _ in range(3)]]

    def accept(run: Run) -> Any:
        build = Step(name=StepName.BUILD, state=StepState.RUNNING, reason="Accepted", attempts=1)
        entry = Progress(run_id=run.id, at=datetime(2026, 12, 2, tzinfo=UTC), subject=Subject.RUN,
                         state="building", reason="Accepted")
        return writes.accept(run.id, EventId(f"event-{run.id}"), build, [entry])

    proxy.lose_commit_reply(ACCEPTS)  # the first accept's commit, alone; the other two share the next
    answers = await asyncio.gather(*(accept(run) for run in runs))
    assert proxy.lost == 1
    # Written again, the lost one's compare-and-set found its run moved already: stored once, answered None
    # as an accept that came second is (the dispatcher then sends nothing again: the run is no longer pending).
    assert answers[0] is None
    assert [[entry.seq for entry in answer or []] for answer in answers[1:]] == [[2], [2]]
    for run in runs:
        stored = await RunStore(store).get(run.id)
        assert stored.state is RunState.BUILDING and stored.event_id == f"event-{run.id}"
        assert stored.step(StepName.BUILD).reason == "Accepted"
        assert await _count(direct_url, "SELECT COUNT(*) FROM progress WHERE run_id = $1 AND reason = 'Accepted'",
                            run.id) == 1


class CommitsThenDrops(PassingThrough):
    """The database whose transactions commit, then raise the error of a connection that dropped then."""

    dropping = 0  # transactions left to commit and then fail

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._db.transaction() as connection:
            yield connection
        if self.dropping:
            self.dropping -= 1
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")


@both_backends
async def test_creates_whose_commit_then_drops_the_connection_each_get_their_run_once(database: Database) -> None:
    dropping = CommitsThenDrops(database)
    writes = RunWrites(dropping)
    dropping.dropping = 2  # the first (alone) and the second (the other nine together) commit, then fail
    keys = [None, "a", None, "b", None, "c", None, "d", None, "e"]  # with a key: it meets its own key first
    answers = await asyncio.gather(*(_create(writes, key) for key in keys))
    assert dropping.dropping == 0
    assert len({run.id for run, _ in answers}) == 10
    stored = {run.id: run for run in await RunStore(database).list(limit=100)}
    assert [stored[run.id] for run, _ in answers] == [run for run, _ in answers]
    for run, entry in answers:
        assert entry is not None and (entry.run_id, entry.seq) == (run.id, 1)
        assert await RunStore(database).progress(run.id) == [entry]


@both_backends
async def test_a_create_refused_at_the_commit_is_refused_not_taken_for_a_lost_reply(database: Database) -> None:
    writes = RunWrites(database)
    used, _ = await writes.create(new_run_id(), SPEC, "harbor.test/library/demo-shop:1")

    def create(run_id: RunId) -> Any:  # no transition: on SQLite the held insert is refused only at the COMMIT
        return writes.create(run_id, SPEC, f"harbor.test/library/demo-shop:{run_id}")

    # The first commits alone; the other two share the next commit, which the used id makes fail as a whole.
    answers = await asyncio.gather(create(new_run_id()), create(used.id), create(new_run_id()),
                                   return_exceptions=True)
    assert isinstance(answers[1], RunExists)  # the id was another write's: a refusal, not an unknown outcome
    assert [type(answer) for answer in answers[::2]] == [tuple, tuple]
    assert len(await RunStore(database).list(limit=100)) == 3
