"""Remembers processed CloudEvents so a duplicate is recognised; bounded per subject and pruned by age."""

from __future__ import annotations

from datetime import timedelta

from .database import Database, to_text


class EventStore:
    def __init__(self, database: Database) -> None:
        self._db = database

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

    async def last_number(self) -> int:
        """The place of the newest recorded event (its rowid); 0 when none is recorded."""
        row = await self._db.fetch_one("SELECT COALESCE(MAX(rowid), 0) FROM events")
        return int(row[0]) if row else 0

    async def subjects_after(self, number: int, *, limit: int = 500) -> list[tuple[int, str]]:
        """(place, subject) of the events recorded after `number`, oldest first: what the leader looks at."""
        rows = await self._db.fetch_all(
            "SELECT rowid, run_id FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?", (number, limit)
        )
        return [(int(row[0]), str(row[1])) for row in rows if row[1]]

    async def count_events(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0
