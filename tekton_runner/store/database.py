"""Opens the SQLite database, brings its schema up to date and serialises writes; used by every store module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from ..models.clock import SYSTEM_CLOCK, Clock
from .schema import migrate


def to_text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def from_text(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Database:
    """One connection; a lock makes each write transaction atomic with respect to the others."""

    def __init__(self, connection: aiosqlite.Connection, clock: Clock = SYSTEM_CLOCK) -> None:
        self._connection = connection
        self.clock = clock  # stamps created_at / updated_at / received_at
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> AsyncIterator[Database]:
        if str(path) != ":memory:":
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path))
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await migrate(connection)
            yield cls(connection, clock)
        finally:
            await connection.close()

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock, self._connection.execute(sql, tuple(params)) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # Under the lock so a read never sees another caller's uncommitted transaction.
        async with self._lock, self._connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Everything inside commits together or not at all."""
        async with self._lock:
            try:
                yield self._connection
            except BaseException:
                await self._connection.rollback()
                raise
            else:
                await self._connection.commit()

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the affected row count."""
        async with self.transaction() as connection:
            cursor = await connection.execute(sql, tuple(params))
            return cursor.rowcount
