"""Creates (and accepted builds) that arrive together share one transaction, yet each is answered exactly, and
only once committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from tekton_runner.models.ids import EventId, RunId
from tekton_runner.models.progress import Progress, Subject
from tekton_runner.models.runs import Run, RunState, Step, StepName, StepState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Connection, Database
from tekton_runner.store.progress_feed import ProgressFeed
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import DuplicateRequest, RunExists, RunStore
from tests.databases import PassingThrough, both_backends

pytestmark = both_backends

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})


class Commits(PassingThrough):
    """The database with its transactions counted, and their commits held or failed on request."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.transactions = 0
        self.open = asyncio.Event()
        self.open.set()
        self.waiting = asyncio.Event()  # a transaction's writes are done and it waits to commit
        self.failing: set[int] | None = set()  # the numbers (from 1) of the transactions that fail; None: all

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        self.transactions += 1
        number = self.transactions
        async with self._db.transaction() as connection:
            yield connection
            self.waiting.set()
            await self.open.wait()
            if self.failing is None or number in self.failing:
                raise ConnectionResetError("the database went away before the commit")


def _run_id(index: int) -> RunId:
    return RunId(f"r-{index:016x}")


def _created(run_id: RunId) -> Progress:
    return Progress(run_id=run_id, at=datetime(2026, 12, 2, tzinfo=UTC), subject=Subject.RUN, state="pending",
                    reason="Created")


async def _create(writes: RunWrites, index: int, key: str | None = None) -> tuple[Run, Progress | None]:
    run_id = _run_id(index)
    return await writes.create(run_id, SPEC, f"harbor.test/library/demo-shop:{run_id}", idempotency_key=key,
                               progress=_created(run_id))


async def test_concurrent_creates_each_get_their_own_run_from_a_shared_commit(database: Database) -> None:
    commits = Commits(database)
    writes = RunWrites(commits)
    answers = await asyncio.gather(*(_create(writes, index) for index in range(1, 11)))
    assert [run.id for run, _ in answers] == [_run_id(index) for index in range(1, 11)]
    assert commits.transactions < 10  # the ones that arrived while the first committed went in together
    stored = {run.id: run for run in await RunStore(database).list(limit=100)}
    assert [stored[run.id] for run, _ in answers] == [run for run, _ in answers]  # answered as stored
    for run, entry in answers:
        assert entry is not None and (entry.run_id, entry.seq, entry.reason) == (run.id, 1, "Created")
        assert await RunStore(database).progress(run.id) == [entry]
    numbers = [numbered.number for numbered in await ProgressFeed(database).after(0)]
    assert numbers == list(range(1, 11))


async def test_a_refused_create_among_others_gets_its_own_error_and_the_others_land(database: Database) -> None:
    writes = RunWrites(database)
    first, _ = await _create(writes, 1, key="used")
    answers = await asyncio.gather(
        _create(writes, 3), _create(writes, 4, key="used"), _create(writes, 5, key="new"), _create(writes, 6),
        _create(writes, 7, key="new"), return_exceptions=True)
    assert isinstance(answers[1], DuplicateRequest) and answers[1].run_id == first.id
    assert isinstance(answers[4], DuplicateRequest) and answers[4].run_id == _run_id(5)  # the key's winner
    landed = [answer[0].id for answer in answers if isinstance(answer, tuple)]
    assert landed == [_run_id(3), _run_id(5), _run_id(6)]
    assert {run.id for run in await RunStore(database).list(limit=100)} == {first.id, *landed}
    assert (await RunStore(database).find_by_key("new")).id == _run_id(5)  # type: ignore[union-attr]


async def test_a_create_that_fails_the_shared_insert_fails_alone(database: Database) -> None:
    writes = RunWrites(database)
    await _create(writes, 2)
    answers = await asyncio.gather(_create(writes, 8), _create(writes, 9), _create(writes, 2), _create(writes, 10),
                                   return_exceptions=True)
    assert isinstance(answers[2], RunExists)  # its id was stored: the insert they shared is written again alone
    assert [answer[0].id for answer in answers if isinstance(answer, tuple)] == [_run_id(8), _run_id(9), _run_id(10)]
    assert len(await RunStore(database).list(limit=100)) == 4


async def test_nobody_is_answered_before_the_commit_and_a_failed_commit_stores_nobody(database: Database) -> None:
    commits = Commits(database)
    writes = RunWrites(commits)
    commits.open.clear()
    creates = [asyncio.ensure_future(_create(writes, index)) for index in range(1, 6)]
    await commits.waiting.wait()  # the first holds its commit, the others wait for the next turn
    assert not any(create.done() for create in creates)
    commits.failing = None  # the database is lost between the writes and the commit
    commits.open.set()
    answers = await asyncio.gather(*creates, return_exceptions=True)
    assert all(isinstance(answer, ConnectionResetError) for answer in answers), answers
    assert await RunStore(database).list(limit=100) == []
    assert await ProgressFeed(database).after(0) == []


async def test_a_shared_commit_that_fails_is_written_again_one_by_one(database: Database) -> None:
    commits = Commits(database)
    writes = RunWrites(commits)
    commits.open.clear()
    creates = [asyncio.ensure_future(_create(writes, index)) for index in range(1, 7)]
    await commits.waiting.wait()  # the first commits alone; the five others gather behind it
    commits.failing = {2}  # their shared commit fails; each of them is then written by itself
    commits.open.set()
    answers = await asyncio.gather(*creates)
    assert [run.id for run, _ in answers] == [_run_id(index) for index in range(1, 7)]
    assert commits.transactions == 2 + 5
    assert len(await RunStore(database).list(limit=100)) == 6
    assert [numbered.number for numbered in await ProgressFeed(database).after(0)] == list(range(1, 7))


async def test_a_committer_that_goes_away_leaves_the_others_written(database: Database) -> None:
    commits = Commits(database)
    writes = RunWrites(commits)
    commits.open.clear()
    creates = [asyncio.ensure_future(_create(writes, index)) for index in range(1, 5)]
    await commits.waiting.wait()  # the first holds its commit (alone); the others wait for their turn
    commits.waiting.clear()
    creates[0].cancel()  # its caller goes away before its commit: rolled back, and the next caller commits
    await commits.waiting.wait()  # the second holds the commit it shares with the third and the fourth
    creates[1].cancel()  # it goes away too: the third and the fourth are then written each by itself
    commits.open.set()
    answers = await asyncio.gather(*creates, return_exceptions=True)
    assert [type(answer) for answer in answers[:2]] == [asyncio.CancelledError] * 2
    assert [answer[0].id for answer in answers[2:] if isinstance(answer, tuple)] == [_run_id(3), _run_id(4)]
    assert {run.id for run in await RunStore(database).list(limit=100)} == {_run_id(3), _run_id(4)}
    assert commits.transactions == 4


async def test_accepts_arriving_together_move_each_pending_run_once(database: Database) -> None:
    writes = RunWrites(database)
    for index in range(1, 5):
        await _create(writes, index)
    assert await writes.transition(_run_id(4), allowed=[RunState.PENDING], to=RunState.FAILED)

    def accept(index: int) -> Any:
        build = Step(name=StepName.BUILD, state=StepState.RUNNING, reason="Accepted", attempts=1)
        entry = Progress(run_id=_run_id(index), at=datetime(2026, 12, 2, tzinfo=UTC), subject=Subject.RUN,
                         state="building", reason="Accepted")
        return writes.accept(_run_id(index), EventId(f"event-{index}"), build, [entry])

    answers = await asyncio.gather(accept(1), accept(2), accept(2), accept(3), accept(4))
    assert [None if answer is None else [entry.seq for entry in answer] for answer in answers] == [
        [2], [2], None, [2], None]  # the second accept of run 2 and the accept of a failed run move nothing
    runs = {run.id: run for run in await RunStore(database).list(limit=100)}
    assert [runs[_run_id(index)].state for index in range(1, 5)] == [RunState.BUILDING] * 3 + [RunState.FAILED]
    assert runs[_run_id(2)].event_id == "event-2" and runs[_run_id(2)].step(StepName.BUILD).reason == "Accepted"
    assert runs[_run_id(4)].step(StepName.BUILD).state is StepState.PENDING
