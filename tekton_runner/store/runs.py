"""Stores runs and their steps; state changes are compare-and-set so concurrent events cannot race."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta

import aiosqlite

from ..models.ids import EventId, RunId
from ..models.runs import Endpoint, Run, RunState, Step, StepName, StepState
from ..models.spec import RunSpec
from .database import Database, from_text, to_text


class RunNotFound(LookupError):
    pass


class RunExists(Exception):
    """A run with this id is already stored."""


class DuplicateRequest(Exception):
    """A run was already created with this Idempotency-Key."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


def _step_from_row(row: aiosqlite.Row) -> Step:
    return Step(
        name=StepName(row["name"]),
        state=StepState(row["state"]),
        reason=row["reason"],
        message=row["message"],
        started_at=from_text(row["started_at"]),
        finished_at=from_text(row["finished_at"]),
        attempts=row["attempts"],
    )


def _run_from_row(row: aiosqlite.Row, steps: Iterable[Step]) -> Run:
    created = from_text(row["created_at"])
    updated = from_text(row["updated_at"])
    assert created is not None and updated is not None
    order = {name: index for index, name in enumerate(StepName)}
    return Run(
        id=RunId(row["id"]),
        spec=RunSpec.model_validate_json(row["spec_json"]),
        state=RunState(row["state"]),
        reason=row["reason"],
        message=row["message"],
        image=row["image"],
        digest=row["digest"],
        event_id=EventId(row["event_id"]) if row["event_id"] else None,
        taskrun_uid=row["taskrun_uid"],
        endpoint=Endpoint.model_validate_json(row["endpoint_json"]) if row["endpoint_json"] else None,
        created_at=created,
        updated_at=updated,
        accepted_at=from_text(row["accepted_at"]),
        steps=tuple(sorted(steps, key=lambda step: order[step.name])),
    )


class RunStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, run_id: RunId, spec: RunSpec, image: str, *, idempotency_key: str | None = None) -> Run:
        now = to_text(self._db.clock.now())
        async with self._db.transaction() as connection:
            if idempotency_key is not None:
                async with connection.execute(
                    "SELECT id FROM runs WHERE idempotency_key = ?", (idempotency_key,)
                ) as cursor:
                    existing = await cursor.fetchone()
                if existing is not None:
                    raise DuplicateRequest(existing["id"])
            try:
                await connection.execute(
                    "INSERT INTO runs (id, workspace, app, spec_json, state, image, created_at, updated_at,"
                    " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, spec.workspace, spec.app.name, spec.model_dump_json(), RunState.PENDING,
                     image, now, now, idempotency_key),
                )
            except sqlite3.IntegrityError as error:
                raise RunExists(run_id) from error
            await connection.executemany(
                "INSERT INTO steps (run_id, name, state) VALUES (?, ?, ?)",
                [(run_id, name.value, StepState.PENDING.value) for name in StepName],
            )
        return await self.get(run_id)

    async def find_by_key(self, idempotency_key: str) -> Run | None:
        row = await self._db.fetch_one("SELECT id FROM runs WHERE idempotency_key = ?", (idempotency_key,))
        return await self.get(row["id"]) if row else None

    async def get(self, run_id: str) -> Run:
        row = await self._db.fetch_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFound(run_id)
        steps = await self._db.fetch_all("SELECT * FROM steps WHERE run_id = ?", (run_id,))
        return _run_from_row(row, map(_step_from_row, steps))

    async def list(
        self, *, states: Iterable[RunState] = (), workspace: str | None = None,
        app: str | None = None, limit: int = 100,
    ) -> list[Run]:
        clauses, params = [], []
        wanted = [state.value for state in states]
        if wanted:
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        if app is not None:
            clauses.append("app = ?")
            params.append(app)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.fetch_all(
            f"SELECT * FROM runs {where} ORDER BY created_at DESC, id LIMIT ?", (*params, limit)
        )
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        step_rows = await self._db.fetch_all(
            f"SELECT * FROM steps WHERE run_id IN ({', '.join('?' * len(ids))})", ids
        )
        by_run: dict[str, list[Step]] = {run_id: [] for run_id in ids}
        for step_row in step_rows:
            by_run[step_row["run_id"]].append(_step_from_row(step_row))
        return [_run_from_row(row, by_run[row["id"]]) for row in rows]

    async def transition(
        self, run_id: RunId, *, allowed: Iterable[RunState], to: RunState,
        reason: str = "", message: str = "",
    ) -> bool:
        """Moves the run to `to` only from one of `allowed`; False when another caller got there first."""
        sources = [state.value for state in allowed]
        count = await self._db.execute(
            f"UPDATE runs SET state = ?, reason = ?, message = ?, updated_at = ?"
            f" WHERE id = ? AND state IN ({', '.join('?' * len(sources))})",
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

    async def accept(self, run_id: RunId, event_id: EventId | None, build: Step) -> bool:
        """PENDING -> BUILDING with the EventListener's event id and the build step, in one transaction."""
        moment = self._db.clock.now()
        now = to_text(moment)
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE runs SET state = ?, event_id = COALESCE(?, event_id), accepted_at = ?, reason = '',"
                " message = '', updated_at = ? WHERE id = ? AND state = ?",
                (RunState.BUILDING.value, event_id, now, now, run_id, RunState.PENDING.value),
            )
            if cursor.rowcount != 1:
                return False
            await _write_step(connection, run_id, build, moment)
            return True

    async def latest_succeeded(self, workspace: str, app: str) -> Run | None:
        runs = await self.list(states=[RunState.SUCCEEDED], workspace=workspace, app=app, limit=1)
        return runs[0] if runs else None

    async def record_event(self, key: str, *, run_id: str, ce_id: str, type_: str, keep: int = 64) -> bool:
        """Remembers a processed event; False if the same key was seen before.

        At most `keep` records per subject (a run, or `app:<id>`) are kept, the newest, so a flood of
        distinct events for one subject cannot grow the table.
        """
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT OR IGNORE INTO events (key, run_id, ce_id, type, received_at) VALUES (?, ?, ?, ?, ?)",
                (key, run_id, ce_id, type_, to_text(self._db.clock.now())),
            )
            if cursor.rowcount != 1:
                return False
            await connection.execute(
                "DELETE FROM events WHERE run_id = ? AND rowid NOT IN"
                " (SELECT rowid FROM events WHERE run_id = ? ORDER BY rowid DESC LIMIT ?)",
                (run_id, run_id, keep),
            )
            return True

    async def prune_events(self, *, older_than: timedelta) -> int:
        """Forgets processed events received before the retention period; returns how many."""
        return await self._db.execute(
            "DELETE FROM events WHERE received_at < ?", (to_text(self._db.clock.now() - older_than),)
        )

    async def count_events(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0


async def _write_step(connection: aiosqlite.Connection, run_id: RunId, step: Step, now: datetime) -> None:
    await connection.execute(
        "UPDATE steps SET state = ?, reason = ?, message = ?, started_at = ?, finished_at = ?,"
        " attempts = ? WHERE run_id = ? AND name = ?",
        (step.state.value, step.reason, step.message, to_text(step.started_at),
         to_text(step.finished_at), step.attempts, run_id, step.name.value),
    )
    await connection.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (to_text(now), run_id))

