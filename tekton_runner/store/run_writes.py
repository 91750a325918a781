"""Writes runs and their steps; state changes are compare-and-set so concurrent events cannot race.

A second create with one Idempotency-Key, from this process or another replica, is refused by the runs
table's unique index and answered as DuplicateRequest naming the first run. Creates that arrive together
share one transaction (grouping.py), each with its first transition.

A COMMIT whose reply is lost (the connection dropped after the server committed) is not taken as a failure:
the run is written again, and a row found with the caller's own run id is its own committed write (ids are
fresh per request, models/ids.py), answered as created once, read back from the database.

Only the chain's status writer (chain/status/writer.py) imports this module (an import-linter contract):
every change of a run's or a step's status goes through it, so it can count, log and publish each one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from ..models.ids import EventId, RunId
from ..models.progress import Progress
from ..models.runs import Endpoint, Run, RunState, Step, StepName, StepState
from ..models.spec import RunSpec
from .database import Connection, Database, UniqueViolation, placeholders, to_text
from .grouping import GroupCommit
from .progress_feed import CHANNEL
from .runs import DuplicateRequest, RunExists, RunStore

log = logging.getLogger("tekton_runner.store")

# The newest transitions kept per run: a step that keeps changing its message cannot grow the table.
PROGRESS_PER_RUN = 500
NEW_STEPS = tuple(Step(name=name) for name in StepName)  # a new run's, all pending (steps are immutable)


class RunWrites:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._reads = RunStore(database)
        self._creates = GroupCommit(database, _store_creates, self._create_alone)
        self._accepts = GroupCommit(database, _store_accepts, self._accept_alone)

    async def create(self, run_id: RunId, spec: RunSpec, image: str, *, idempotency_key: str | None = None,
                     pushed: bool = False, progress: Progress | None = None) -> tuple[Run, Progress | None]:
        """Stores a new run `pending` with its steps and, in the same transaction, its first transition
        (`progress`, returned numbered). Concurrent creates share one commit (grouping.py); the answer
        comes once the run is committed. Raises DuplicateRequest for a used key, RunExists for a used id."""
        now = self._db.clock.now()
        run = Run(id=run_id, spec=spec, state=RunState.PENDING, image=image, created_at=now, updated_at=now,
                  pushed=pushed, steps=NEW_STEPS)
        return await self._creates.write(_Create(run, idempotency_key, progress))

    async def _create_alone(self, create: _Create, maybe_stored: bool) -> tuple[Run, Progress | None]:
        """A create whose shared commit failed, written in a transaction of its own; `maybe_stored`: that
        commit's reply was lost, so it may be stored already (then read back, with its first transition)."""
        written: list[tuple[Run, Progress | None]] = []

        async def write(connection: Connection) -> None:
            [result] = await _store_creates(connection, [create])
            if isinstance(result, Exception):
                raise result
            written.append(result)

        # A push's id comes from its TaskRun (not fresh): a row with it may be another replica's, so RunExists.
        if not await self._store_new(create.run.id, create.key, write, maybe_stored=maybe_stored,
                                     fresh=not create.run.pushed):
            return written[-1]
        first = await self._reads.progress(create.run.id, limit=1) if create.progress is not None else []
        return await self._reads.get(create.run.id), next(iter(first), None)

    async def create_redeploy(self, run_id: RunId, source: Run, build: Step, *,
                              idempotency_key: str | None = None) -> Run:
        """A run deploying `source`'s image again: stored `deploying` with its build step `build` (skipped)."""
        now = to_text(self._db.clock.now())

        async def write(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO runs (id, workspace, app, spec_json, state, reason, message, image, digest,"
                " created_at, updated_at, accepted_at, idempotency_key, redeploy_of)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, source.workspace, source.app, source.spec.model_dump_json(), RunState.DEPLOYING.value,
                 build.reason, build.message, source.image, source.digest, now, now, now, idempotency_key,
                 source.id),
            )
            await connection.execute_many(
                "INSERT INTO steps (run_id, name, state) VALUES (?, ?, ?)",
                [(run_id, name.value, StepState.PENDING.value) for name in StepName],
            )
            await _write_step(connection, run_id, build, self._db.clock.now())

        await self._store_new(run_id, idempotency_key, write, maybe_stored=False)
        return await self._reads.get(run_id)

    async def _store_new(self, run_id: RunId, idempotency_key: str | None,
                         write: Callable[[Connection], Awaitable[None]], *, maybe_stored: bool, fresh: bool = True
                         ) -> bool:
        """Stores a new run through `write` (in `_creating`); True when it proves stored by an earlier attempt.

        After an attempt whose COMMIT failed (`maybe_stored`), the database says what happened: the insert waits
        for that transaction to end on the server, and a run found then with this `fresh` id is the caller's
        own. A COMMIT that fails here is written again once, the same way."""
        committing = False
        try:
            async with self._creating(run_id, idempotency_key) as connection:
                await write(connection)
                committing = True
        except (RunExists, DuplicateRequest):
            if not (maybe_stored and fresh
                    and await self._db.fetch_one("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is not None):
                raise
            log.info("run %s: stored by a commit whose reply was lost", run_id)
            return True
        except Exception as error:
            if not committing or maybe_stored:
                raise
            log.info("run %s: the commit failed (%s: %s); written again", run_id, type(error).__name__, error)
            return await self._store_new(run_id, idempotency_key, write, maybe_stored=True, fresh=fresh)
        return False

    @asynccontextmanager
    async def _creating(self, run_id: RunId, idempotency_key: str | None) -> AsyncIterator[Connection]:
        """A transaction that stores a new run: a used id is RunExists, a used key DuplicateRequest."""
        try:
            async with self._db.transaction() as connection:
                await _refuse_used_key(connection, idempotency_key)
                yield connection
        except UniqueViolation as error:
            # Another writer committed the same key or id between the check and the insert: its row is
            # visible now, outside the failed transaction.
            await _refuse_used_key(self._db, idempotency_key)
            raise RunExists(run_id) from error

    async def transition(
        self, run_id: RunId, *, allowed: Iterable[RunState], to: RunState,
        reason: str = "", message: str = "",
    ) -> bool:
        """Moves the run to `to` only from one of `allowed`; False when another caller got there first."""
        sources = [state.value for state in allowed]
        count = await self._db.execute(
            f"UPDATE runs SET state = ?, reason = ?, message = ?, updated_at = ?"
            f" WHERE id = ? AND state IN ({placeholders(len(sources))})",
            (to.value, reason, message, to_text(self._db.clock.now()), run_id, *sources),
        )
        return count == 1

    async def note(self, run_id: RunId, *, reason: str, message: str) -> None:
        """Updates the run's reason and message without changing its state."""
        await self._db.execute(
            "UPDATE runs SET reason = ?, message = ?, updated_at = ? WHERE id = ?",
            (reason, message, to_text(self._db.clock.now()), run_id),
        )

    async def record_build(self, run_id: RunId, *, taskrun_uid: str | None, digest: str | None) -> None:
        await self._db.execute(
            "UPDATE runs SET taskrun_uid = COALESCE(?, taskrun_uid), digest = COALESCE(?, digest),"
            " updated_at = ? WHERE id = ?",
            (taskrun_uid, digest, to_text(self._db.clock.now()), run_id),
        )

    async def set_endpoint(self, run_id: RunId, endpoint: Endpoint | None) -> None:
        await self._db.execute(
            "UPDATE runs SET endpoint_json = ?, updated_at = ? WHERE id = ?",
            (endpoint.model_dump_json() if endpoint else None, to_text(self._db.clock.now()), run_id),
        )

    async def save_step(self, run_id: RunId, step: Step) -> None:
        async with self._db.transaction() as connection:
            await _write_step(connection, run_id, step, self._db.clock.now())

    async def accept(self, run_id: RunId, event_id: EventId | None, build: Step,
                     progress: Sequence[Progress] = ()) -> list[Progress] | None:
        """PENDING -> BUILDING with the EventListener's event id and the build step, and the transitions
        `progress` (returned numbered), in one transaction shared with the accepts that arrive together;
        None when the run had left PENDING."""
        return await self._accepts.write(_Accept(run_id, event_id, build, self._db.clock.now(), tuple(progress)))

    async def _accept_alone(self, accept: _Accept, maybe_stored: bool) -> list[Progress] | None:
        """An accept whose shared commit failed, alone. Even when that commit's reply was lost (`maybe_stored`)
        and it moved the run, writing it again is safe: its compare-and-set finds the run no longer PENDING and
        stores nothing (None), as for any accept that came second."""
        async with self._db.transaction() as connection:
            [result] = await _store_accepts(connection, [accept])
        if isinstance(result, Exception):
            raise result
        return result

    async def append_progress(self, entry: Progress) -> Progress:
        """Stores the transition under the run's next number (and the next number across all runs, which
        outgoing notifications read in order) and returns it numbered."""
        async with self._db.transaction() as connection:
            [numbered] = await _append_progress(connection, [entry])
        return numbered


@dataclass(frozen=True)
class _Create:
    run: Run
    key: str | None
    progress: Progress | None


async def _store_creates(connection: Connection, creates: Sequence[_Create]
                         ) -> list[tuple[Run, Progress | None] | Exception]:
    """New runs in one transaction: each one whose key is taken (before, or by an earlier one of the same
    batch) is refused with DuplicateRequest naming the run that has it; the others are written together."""
    keys = [create.key for create in creates if create.key is not None]
    taken: dict[str, str] = {}
    if keys:
        rows = await connection.fetch_all(
            f"SELECT id, idempotency_key FROM runs WHERE idempotency_key IN ({placeholders(len(keys))})", keys)
        taken = {row["idempotency_key"]: row["id"] for row in rows}
    results: list[tuple[Run, Progress | None] | Exception] = []
    stored: list[_Create] = []
    for create in creates:
        if create.key is not None and create.key in taken:
            results.append(DuplicateRequest(taken[create.key]))
            continue
        if create.key is not None:
            taken[create.key] = create.run.id
        stored.append(create)
        results.append((create.run, None))
    if not stored:
        return results
    await _insert(connection, "runs (id, workspace, app, spec_json, state, image, created_at, updated_at,"
                  " idempotency_key, pushed)",
                  [(run.id, run.workspace, run.app, run.spec.model_dump_json(), run.state.value, run.image,
                    to_text(run.created_at), to_text(run.updated_at), create.key, int(run.pushed))
                   for create in stored for run in (create.run,)])
    await _insert(connection, "steps (run_id, name, state)",
                  [(create.run.id, step.name.value, step.state.value) for create in stored
                   for step in create.run.steps])
    entries = [create.progress for create in stored if create.progress is not None]
    numbered = {entry.run_id: entry for entry in await _append_progress(connection, entries, new_runs=True)}
    return [result if isinstance(result, Exception) else (result[0], numbered.get(result[0].id))
            for result in results]


@dataclass(frozen=True)
class _Accept:
    run_id: RunId
    event_id: EventId | None
    build: Step
    at: datetime
    progress: tuple[Progress, ...]


async def _store_accepts(connection: Connection, accepts: Sequence[_Accept]
                         ) -> list[list[Progress] | Exception | None]:
    """Each accept compare-and-set from PENDING (None for a run that had left it), its build step, then the
    transitions of those that moved, numbered together."""
    # One compare-and-set for all: the runs it returns moved (each once, however often it is in the batch).
    run_ids = list(dict.fromkeys(accept.run_id for accept in accepts))
    rows = await connection.fetch_all(
        f"UPDATE runs SET state = ?, reason = '', message = '' WHERE id IN ({placeholders(len(run_ids))})"
        " AND state = ? RETURNING id", (RunState.BUILDING.value, *run_ids, RunState.PENDING.value))
    pending = {row["id"] for row in rows}
    moved: list[_Accept] = []
    for accept in accepts:
        if accept.run_id in pending:
            pending.discard(accept.run_id)
            moved.append(accept)
    if not moved:
        return [None] * len(accepts)
    await connection.execute_many(
        "UPDATE runs SET event_id = COALESCE(?, event_id), accepted_at = ?, updated_at = ? WHERE id = ?",
        [(accept.event_id, to_text(accept.at), to_text(accept.at), accept.run_id) for accept in moved])
    await connection.execute_many(
        "UPDATE steps SET state = ?, reason = ?, message = ?, started_at = ?, finished_at = ?, attempts = ?,"
        " due_at = ? WHERE run_id = ? AND name = ?", [_step_row(accept.run_id, accept.build) for accept in moved])
    numbered = iter(await _append_progress(connection, [entry for accept in moved for entry in accept.progress]))
    answers = {id(accept): [next(numbered) for _ in accept.progress] for accept in moved}
    return [answers.get(id(accept)) for accept in accepts]


async def _append_progress(connection: Connection, entries: Sequence[Progress], *, new_runs: bool = False
                           ) -> list[Progress]:
    """The entries stored in order under their runs' next numbers and the next numbers across all runs;
    `new_runs`: their runs were created in this transaction, so have no transitions yet."""
    if not entries:
        return []
    # Other replicas' relays read the feed when this commits (their clients follow runs there too); sent
    # before taking the turn below, which it would otherwise lengthen by a round trip.
    await connection.notify(CHANNEL, entries[0].run_id)
    # Numbers are read in order by the notification loops: they must be handed out in commit order, so writers
    # take turns from here to the commit.
    await connection.serialise("progress")
    last: dict[str, int] = {}
    if not new_runs:
        run_ids = list(dict.fromkeys(entry.run_id for entry in entries))
        rows = await connection.fetch_all(
            f"SELECT run_id, MAX(seq) FROM progress WHERE run_id IN ({placeholders(len(run_ids))}) GROUP BY run_id",
            run_ids)
        last = {row[0]: int(row[1]) for row in rows}
    row = await connection.fetch_one("SELECT COALESCE(MAX(number), 0) FROM progress")
    top = int(row[0]) if row else 0
    numbered = []
    for index, entry in enumerate(entries, start=1):
        last[entry.run_id] = last.get(entry.run_id, 0) + 1
        numbered.append((entry.model_copy(update={"seq": last[entry.run_id]}), top + index))
    await _insert(connection, "progress (run_id, seq, at, subject, step, state, reason, message, number)",
                  [(entry.run_id, entry.seq, to_text(entry.at), entry.subject.value, entry.step, entry.state,
                    entry.reason, entry.message, number) for entry, number in numbered])
    for run_id, seq in last.items():  # each run keeps its newest PROGRESS_PER_RUN
        if seq > PROGRESS_PER_RUN:
            await connection.write("DELETE FROM progress WHERE run_id = ? AND seq <= ?",
                                   (run_id, seq - PROGRESS_PER_RUN))
    return [entry for entry, _ in numbered]


async def _insert(connection: Connection, into: str, rows: Sequence[tuple[object, ...]]) -> None:
    """The rows in one INSERT statement (one round trip, where executemany sends a statement per row)."""
    values = ", ".join([f"({placeholders(len(rows[0]))})"] * len(rows))
    await connection.write(f"INSERT INTO {into} VALUES {values}", [value for row in rows for value in row])


async def _refuse_used_key(reader: Connection | Database, idempotency_key: str | None) -> None:
    """Raises DuplicateRequest when a run was already created with this Idempotency-Key."""
    if idempotency_key is None:
        return
    existing = await reader.fetch_one("SELECT id FROM runs WHERE idempotency_key = ?", (idempotency_key,))
    if existing is not None:
        raise DuplicateRequest(existing["id"])


async def _write_step(connection: Connection, run_id: RunId, step: Step, now: datetime) -> None:
    await connection.write(
        "UPDATE steps SET state = ?, reason = ?, message = ?, started_at = ?, finished_at = ?,"
        " attempts = ?, due_at = ? WHERE run_id = ? AND name = ?", _step_row(run_id, step))
    await connection.write("UPDATE runs SET updated_at = ? WHERE id = ?", (to_text(now), run_id))


def _step_row(run_id: RunId, step: Step) -> tuple[object, ...]:
    return (step.state.value, step.reason, step.message, to_text(step.started_at), to_text(step.finished_at),
            step.attempts, to_text(step.due_at), run_id, step.name.value)
