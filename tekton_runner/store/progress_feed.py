"""Every run's transitions in the order they were stored, and how far each notification target got.

Read by the notification loops (chain/status/notifying.py): they page through the `progress` table by its
`number` (one sequence across all runs, given by run_writes.append_progress) and store the last number
delivered per target, so a restart resumes where delivery stopped instead of losing or replaying history.
Read too by the leader's handover (chain/handover.py) and by every replica's relay
(chain/status/relaying.py), which `watch` wakes when any replica stores a transition.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from ..models.ids import RunId
from ..models.progress import Progress, Subject
from .database import Database, Watch, to_text

CHANNEL = "tekton_runner_progress"  # notified (with the run id) when a transition commits


@dataclass(frozen=True)
class Numbered:
    number: int  # the transition's place among all runs' transitions
    entry: Progress


class ProgressFeed:
    def __init__(self, database: Database) -> None:
        self._db = database

    def watch(self, *, interval: float) -> AbstractAsyncContextManager[Watch]:
        """Wake-ups when any replica stores a transition (every `interval` seconds where none come)."""
        return self._db.watch(CHANNEL, interval=interval)

    async def last_number(self) -> int:
        row = await self._db.fetch_one("SELECT COALESCE(MAX(number), 0) FROM progress")
        return int(row[0]) if row is not None else 0

    async def after(self, number: int, *, limit: int = 100) -> list[Numbered]:
        """The stored transitions numbered above `number`, oldest first, at most `limit`."""
        rows = await self._db.fetch_all(
            "SELECT * FROM progress WHERE number > ? ORDER BY number LIMIT ?", (number, limit)
        )
        return [
            Numbered(row["number"], Progress(
                run_id=RunId(row["run_id"]), seq=row["seq"], at=datetime.fromisoformat(row["at"]),
                subject=Subject(row["subject"]), step=row["step"], state=row["state"], reason=row["reason"],
                message=row["message"]))
            for row in rows
        ]

    async def delivered(self, target: str) -> int | None:
        """The last number delivered to `target` (or given up on), None before its first start."""
        row = await self._db.fetch_one("SELECT last_number FROM deliveries WHERE target = ?", (target,))
        return int(row["last_number"]) if row is not None else None

    async def mark_delivered(self, target: str, number: int) -> None:
        await self._db.execute(
            "INSERT INTO deliveries (target, last_number, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (target) DO UPDATE SET last_number = excluded.last_number, updated_at = excluded.updated_at",
            (target, number, to_text(self._db.clock.now())),
        )
