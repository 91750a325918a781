"""Reads runs and their steps. Writes are in run_writes.py, used only by the chain's status writer."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..models.ids import EventId, RunId
from ..models.progress import Progress, Subject
from ..models.runs import Endpoint, Run, RunState, Step, StepName, StepState
from ..models.spec import RunSpec
from .database import Database, Row, from_text, placeholders


@dataclass(frozen=True)
class BuildQueue:
    """Build requests of /run runs: the oldest unsent ones, how many wait unsent, how many wait for a TaskRun."""

    next_ids: list[RunId]
    unsent: int
    at_eventlistener: int


@dataclass(frozen=True)
class WorkspaceRuns:
    workspace: str
    latest: datetime | None
    live: int


class RunNotFound(LookupError):
    pass


class RunExists(Exception):
    """A run with this id is already stored."""


class DuplicateRequest(Exception):
    """A run was already created with this Idempotency-Key."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


# Enum members by their stored value, and the steps' order: looked up for every row read.
_STEP_NAMES = {name.value: name for name in StepName}
_STEP_STATES = {state.value: state for state in StepState}
_STEP_ORDER = {name: index for index, name in enumerate(StepName)}


def _step_from_row(row: Row) -> Step:
    # Stored by this code from a validated Step: only the enums and times need turning back.
    return Step.model_construct(
        name=_STEP_NAMES[row["name"]],
        state=_STEP_STATES[row["state"]],
        reason=row["reason"],
        message=row["message"],
        started_at=from_text(row["started_at"]),
        finished_at=from_text(row["finished_at"]),
        attempts=row["attempts"],
        due_at=from_text(row["due_at"]),
    )


def _run_from_row(row: Row, steps: Iterable[Step]) -> Run:
    created = from_text(row["created_at"])
    updated = from_text(row["updated_at"])
    assert created is not None and updated is not None
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
        redeploy_of=RunId(row["redeploy_of"]) if row["redeploy_of"] else None,
        pushed=bool(row["pushed"]),
        steps=tuple(sorted(steps, key=lambda step: _STEP_ORDER[step.name])),
    )


class RunStore:
    """The read side of the runs and steps tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def find_by_key(self, idempotency_key: str) -> Run | None:
        row = await self._db.fetch_one("SELECT id FROM runs WHERE idempotency_key = ?", (idempotency_key,))
        return await self.get(row["id"]) if row else None

    async def get(self, run_id: str) -> Run:
        row = await self._db.fetch_one("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFound(run_id)
        steps = await self._db.fetch_all("SELECT * FROM steps WHERE run_id = ?", (run_id,))
        return _run_from_row(row, map(_step_from_row, steps))

    async def get_many(self, run_ids: Iterable[str]) -> builtins.list[Run]:
        """The stored ones of `run_ids` (in no particular order), read together."""
        wanted = builtins.list(run_ids)
        if not wanted:
            return []
        rows = await self._db.fetch_all(f"SELECT * FROM runs WHERE id IN ({placeholders(len(wanted))})", wanted)
        return await self._with_steps(rows)

    async def states(self, run_ids: Iterable[str]) -> dict[str, RunState]:
        """The stored state of each of `run_ids` that is stored."""
        wanted = builtins.list(run_ids)
        if not wanted:
            return {}
        rows = await self._db.fetch_all(f"SELECT id, state FROM runs WHERE id IN ({placeholders(len(wanted))})",
                                        wanted)
        return {row["id"]: RunState(row["state"]) for row in rows}

    async def list(
        self, *, states: Iterable[RunState] = (), workspace: str | None = None,
        app: str | None = None, limit: int = 100, after: Run | None = None,
    ) -> list[Run]:
        """Newest first (ties by id, highest first); `after`: only the runs listed after that one."""
        clauses, params = [], []
        wanted = [state.value for state in states]
        if wanted:
            clauses.append(f"state IN ({placeholders(len(wanted))})")
            params.extend(wanted)
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        if app is not None:
            clauses.append("app = ?")
            params.append(app)
        if after is not None:
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            moment = after.created_at.isoformat()  # as to_text stores it
            params.extend((moment, moment, after.id))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.fetch_all(
            f"SELECT * FROM runs {where} ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return await self._with_steps(rows)

    async def _with_steps(self, rows: builtins.list[Row]) -> builtins.list[Run]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        step_rows = await self._db.fetch_all(
            f"SELECT * FROM steps WHERE run_id IN ({placeholders(len(ids))})", ids
        )
        by_run: dict[str, builtins.list[Step]] = {run_id: [] for run_id in ids}
        for step_row in step_rows:
            by_run[step_row["run_id"]].append(_step_from_row(step_row))
        return [_run_from_row(row, by_run[row["id"]]) for row in rows]

    async def build_queue(self, limit: int) -> BuildQueue:
        """Pending requested runs, oldest first (push builds and redeploys never wait for a request)."""
        requested = "state = ? AND pushed = 0 AND redeploy_of IS NULL"
        rows = await self._db.fetch_all(f"SELECT id FROM runs WHERE {requested} ORDER BY created_at, id LIMIT ?",
                                        (RunState.PENDING.value, limit))
        counts = await self._db.fetch_one(
            f"SELECT (SELECT COUNT(*) FROM runs WHERE {requested}) AS unsent, (SELECT COUNT(*) FROM runs"
            " WHERE state = ? AND pushed = 0 AND taskrun_uid IS NULL) AS accepted",
            (RunState.PENDING.value, RunState.BUILDING.value))
        assert counts is not None
        return BuildQueue(next_ids=[RunId(row["id"]) for row in rows], unsent=counts["unsent"],
                          at_eventlistener=counts["accepted"])

    async def page(
        self, states: Iterable[RunState], *, after: str | None = None, limit: int = 500,
    ) -> builtins.list[Run]:
        """Runs in `states` with ids above `after`, by id: a resync reads live runs a page at a time."""
        wanted = [state.value for state in states]
        rows = await self._db.fetch_all(
            f"SELECT * FROM runs WHERE state IN ({', '.join('?' * len(wanted))}) AND id > ? ORDER BY id LIMIT ?",
            (*wanted, after or "", limit),
        )
        return await self._with_steps(rows)

    async def ended(self, run_ids: builtins.list[str]) -> set[str]:
        """Those of `run_ids` stored in a final state (neither unknown nor live)."""
        found: set[str] = set()
        live = (RunState.PENDING.value, RunState.BUILDING.value, RunState.DEPLOYING.value)
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start:start + 500]
            rows = await self._db.fetch_all(
                f"SELECT id FROM runs WHERE id IN ({', '.join('?' * len(chunk))}) AND state NOT IN (?, ?, ?)",
                (*chunk, *live))
            found.update(row["id"] for row in rows)
        return found

    async def newest_per_app(self, state: RunState | None = None) -> builtins.list[Run]:
        """The newest run of every app (one row per app reaches Python; ties on the time go to the higher id);
        with `state`, only the apps whose newest run is in it (only those runs' steps are read)."""
        rows = await self._db.fetch_all(
            "SELECT r.* FROM runs r JOIN (SELECT workspace, app, MAX(created_at) AS newest FROM runs"
            " GROUP BY workspace, app) n ON r.workspace = n.workspace AND r.app = n.app AND r.created_at = n.newest"
            " ORDER BY r.id DESC"
        )
        newest: dict[tuple[str, str], Row] = {}
        for row in rows:
            newest.setdefault((row["workspace"], row["app"]), row)
        return await self._with_steps([row for row in newest.values() if state is None or row["state"] == state.value])

    async def workspace_activity(self) -> builtins.list[WorkspaceRuns]:
        """Per workspace with runs not deleted: the latest change of any of them and how many are live."""
        live = (RunState.PENDING.value, RunState.BUILDING.value, RunState.DEPLOYING.value)
        rows = await self._db.fetch_all(
            "SELECT workspace, MAX(updated_at) AS latest, SUM(CASE WHEN state IN (?, ?, ?) THEN 1 ELSE 0 END) AS live"
            " FROM runs WHERE state <> ? GROUP BY workspace", (*live, RunState.DELETED.value),
        )
        return [WorkspaceRuns(row["workspace"], from_text(row["latest"]), int(row["live"])) for row in rows]

    async def latest_succeeded(self, workspace: str, app: str) -> Run | None:
        runs = await self.list(states=[RunState.SUCCEEDED], workspace=workspace, app=app, limit=1)
        return runs[0] if runs else None

    async def progress(self, run_id: str, *, after: int = 0, limit: int = 1000) -> builtins.list[Progress]:
        """The run's stored transitions numbered above `after`, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM progress WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?", (run_id, after, limit)
        )
        return [
            Progress(run_id=RunId(row["run_id"]), seq=row["seq"], at=datetime.fromisoformat(row["at"]),
                     subject=Subject(row["subject"]), step=row["step"], state=row["state"], reason=row["reason"],
                     message=row["message"])
            for row in rows
        ]
