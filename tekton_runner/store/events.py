"""Remembers processed CloudEvents so a duplicate is recognised; bounded per subject and pruned by age.

Each recorded event gets the next `number` across all subjects, handed out in commit order (writers take
turns under `serialise`), so the leader can read what any replica recorded since it last looked.
"""

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
            await connection.serialise("events")
            inserted = await connection.execute(
                "INSERT INTO events (key, run_id, ce_id, type, received_at, number)"
                " VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(number), 0) + 1 FROM events))"
                " ON CONFLICT (key) DO NOTHING",
                (key, run_id, ce_id, type_, to_text(self._db.clock.now())),
            )
            if inserted != 1:
                return False
            # The newest by arrival (then key, for events of one instant); the one just recorded always stays.
            await connection.execute(
                "DELETE FROM events WHERE run_id = ? AND key <> ? AND key NOT IN"
                " (SELECT key FROM events WHERE run_id = ? AND key <> ? ORDER BY received_at DESC, key DESC LIMIT ?)",
                (run_id, key, run_id, key, keep - 1),
            )
            return True

    async def prune_events(self, *, older_than: timedelta) -> int:
        """Forgets processed events received before the retention period; returns how many."""
        return await self._db.execute(
            "DELETE FROM events WHERE received_at < ?", (to_text(self._db.clock.now() - older_than),)
        )

    async def last_number(self) -> int:
        """The place of the newest recorded event (its number); 0 when none is recorded."""
        row = await self._db.fetch_one("SELECT COALESCE(MAX(number), 0) FROM events")
        return int(row[0]) if row else 0

    async def subjects_after(self, number: int, *, limit: int = 500) -> list[tuple[int, str]]:
        """(place, subject) of the events recorded after `number`, oldest first: what the leader looks at."""
        rows = await self._db.fetch_all(
            "SELECT number, run_id FROM events WHERE number > ? ORDER BY number LIMIT ?", (number, limit)
        )
        return [(int(row[0]), str(row[1])) for row in rows if row[1]]

    async def count_events(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM events")
        return int(row[0]) if row else 0
