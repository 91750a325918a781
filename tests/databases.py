"""The store's backends for tests: `backend` is sqlite unless a test is parametrised over both.

A module that tests the store marks itself `pytestmark = both_backends`: each of its tests then runs once
on SQLite and once on a fresh database of one PostgreSQL server started for the session (tests/postgres.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tekton_runner.models.clock import SYSTEM_CLOCK
from tekton_runner.store.database import Connection, Database, Row, Watch
from tekton_runner.store.opening import open_database
from tests.postgres import running_postgres

both_backends = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the session's PostgreSQL server's maintenance database."""
    try:
        with running_postgres() as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


async def fresh_postgres_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


@pytest_asyncio.fixture
async def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; for PostgreSQL the URL of a database of this test's own."""
    if backend != "postgres":
        return None
    return await fresh_postgres_database(request.getfixturevalue("postgres_server"))


@pytest_asyncio.fixture
async def database(database_url: str | None, tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(url=database_url, path=tmp_path / "state.sqlite3", clock=SYSTEM_CLOCK) as opened:
        yield opened


class PassingThrough:
    """A database that passes every call on to `database`: a test overrides `transaction` to hold or fail
    commits."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self.clock = database.clock
        self.dialect = database.dialect

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        return await self._db.fetch_one(sql, params)

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._db.fetch_all(sql, params)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return await self._db.execute(sql, params)

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        return self._db.transaction()

    def watch(self, channel: str, *, interval: float) -> AbstractAsyncContextManager[Watch]:
        return self._db.watch(channel, interval=interval)
