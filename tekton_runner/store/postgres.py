"""The shared backend for several replicas: PostgreSQL through an asyncpg pool.

Opened by opening.py when TEKTON_RUNNER_DATABASE_URL names a PostgreSQL server. Nothing here rests on an
in-process lock: each transaction is the server's, unique indexes refuse a second writer of the same key
(raised as UniqueViolation), `serialise` takes a transaction-scoped advisory lock, and `notify` wakes the
other replicas' watches (LISTEN/NOTIFY, store/listening.py) when the transaction commits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ..models.clock import SYSTEM_CLOCK, Clock
from .database import Dialect, Row, UniqueViolation
from .listening import Listener
from .schema import migrate_postgres

POSTGRES = Dialect(name="postgresql", for_update=" FOR UPDATE", holds_uploads=True)
_PLACEHOLDER = re.compile(r"'[^']*'|\?")


@functools.lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...`; text inside quotes is left alone."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda match: match[0] if match[0] != "?" else f"${next(counter)}", sql)


def _count(status: str) -> int:
    """The row count from a command tag such as `UPDATE 3` or `INSERT 0 1`."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresConnection:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = await self._connection.fetchrow(numbered(sql), *params)
        return row

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return list(await self._connection.fetch(numbered(sql), *params))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        try:
            return _count(await self._connection.execute(numbered(sql), *params))
        except asyncpg.UniqueViolationError as error:
            raise UniqueViolation(str(error)) from error

    async def write(self, sql: str, params: Iterable[Any] = ()) -> None:
        await self.execute(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self._connection.executemany(numbered(sql), [tuple(row) for row in rows])
        except asyncpg.UniqueViolationError as error:
            raise UniqueViolation(str(error)) from error

    async def serialise(self, name: str) -> None:
        await self._connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)

    async def notify(self, channel: str, payload: str) -> None:
        await self._connection.execute("SELECT pg_notify($1, $2)", channel, payload)


class PostgresDatabase:
    """A pool of connections; every call borrows one, a transaction keeps its one until it ends."""

    dialect = POSTGRES

    def __init__(self, pool: Any, clock: Clock = SYSTEM_CLOCK, *, url: str) -> None:
        self._pool = pool
        self._url = url  # for the listening connections of `watch`, which live outside the pool
        self.clock = clock

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, clock: Clock = SYSTEM_CLOCK, pool_size: int = 10
                   ) -> AsyncIterator[PostgresDatabase]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
        try:
            async with pool.acquire() as connection:
                await migrate_postgres(connection)
            yield cls(pool, clock, url=url)
        finally:
            await pool.close()

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self._pool.acquire() as connection:
            return await PostgresConnection(connection).fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._pool.acquire() as connection:
            return await PostgresConnection(connection).fetch_all(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield PostgresConnection(connection)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self._pool.acquire() as connection:
            return await PostgresConnection(connection).execute(sql, params)

    @asynccontextmanager
    async def watch(self, channel: str, *, interval: float) -> AsyncIterator[Listener]:
        listener = Listener(self._url, channel, interval=interval, clock=self.clock)
        await listener.open()
        try:
            yield listener
        finally:
            await listener.close()
