"""The embedded backend for one replica: one SQLite file through aiosqlite, writes serialised by a lock.

Opened by opening.py when no PostgreSQL URL is set. One process owns the file, so an in-process lock is
enough to make each transaction atomic with respect to the others.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from ..models.clock import SYSTEM_CLOCK, Clock
from .database import Dialect, Row, UniqueViolation
from .schema import migrate_sqlite

SQLITE = Dialect(name="sqlite", for_update="", holds_uploads=False)


class DatabaseInUse(RuntimeError):
    """Another connection (a runner serving on the file) has the database open."""


@contextmanager
def _unique_violation() -> Iterator[None]:
    """SQLite's refusal of a taken primary key or unique index, as the one exception both backends raise."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if "UNIQUE" not in str(error) and "PRIMARY KEY" not in str(error):
            raise
        raise UniqueViolation(str(error)) from error


class SqliteConnection:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    # Each call is one trip to aiosqlite's thread: a read runs and fetches there at once, and a write's cursor
    # is not closed (a finished statement holds no lock; the cursor goes with its last reference).
    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows: Iterable[Row] = await self._connection.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, tuple(params)))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        with _unique_violation():
            cursor = await self._connection.execute(sql, tuple(params))
        count: int = cursor.rowcount
        return count

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with _unique_violation():
            await self._connection.executemany(sql, [tuple(row) for row in rows])

    async def serialise(self, name: str) -> None:
        """Nothing to do: the database's lock already runs one transaction at a time."""

    async def notify(self, channel: str, payload: str) -> None:
        """Nothing to do: SQLite cannot notify; watchers read on an interval (`Polling`)."""


class Polling:
    """The watch of a SQLite file: nothing notifies, so a reader looks every `interval` seconds (processes
    sharing one file on one host see each other's commits that late)."""

    def __init__(self, clock: Clock, interval: float) -> None:
        self._clock, self._interval = clock, interval

    @property
    def listening(self) -> bool:
        return False

    async def changed(self) -> None:
        await self._clock.sleep(self._interval)


class SqliteDatabase:
    """One connection; a lock makes each write transaction atomic with respect to the others."""

    dialect = SQLITE

    def __init__(self, connection: aiosqlite.Connection, clock: Clock = SYSTEM_CLOCK) -> None:
        self._connection = SqliteConnection(connection)
        self._raw = connection
        self.clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, clock: Clock = SYSTEM_CLOCK, exclusive: bool = False
                   ) -> AsyncIterator[SqliteDatabase]:
        """With `exclusive`, the file is locked for this connection alone until it closes: refused with
        DatabaseInUse while any other connection has it open (a WAL connection holds a shared lock for as
        long as it is open, idle or not), and no other connection can open it meanwhile."""
        if str(path) != ":memory:":
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        connection = await aiosqlite.connect(str(path), timeout=0 if exclusive else 5.0)
        try:
            connection.row_factory = aiosqlite.Row
            if exclusive:
                await _lock_exclusively(connection, path)
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await migrate_sqlite(connection)
            yield cls(connection, clock)
        finally:
            await connection.close()

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        # Under the lock so a read never sees another caller's uncommitted transaction.
        async with self._lock:
            return await self._connection.fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._lock:
            return await self._connection.fetch_all(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteConnection]:
        async with self._lock:
            try:
                yield self._connection
            except BaseException:
                await self._raw.rollback()
                raise
            else:
                await self._raw.commit()

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self.transaction() as connection:
            return await connection.execute(sql, params)

    @asynccontextmanager
    async def watch(self, channel: str, *, interval: float) -> AsyncIterator[Polling]:
        yield Polling(self.clock, interval)


async def _lock_exclusively(connection: aiosqlite.Connection, path: Path | str) -> None:
    try:
        await connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        await connection.execute("BEGIN EXCLUSIVE")  # in this mode the lock outlives the transaction
        await connection.commit()
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        raise DatabaseInUse(f"{path} is open in another process (is a runner serving on it?): {error}") from error
