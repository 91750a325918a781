"""The one interface every store module talks to, whichever backend is behind it (sqlite.py, postgres.py).

Statements are written once, in SQL both backends accept, with `?` placeholders; rows are read by column
name or position. Where the dialects must differ, the `Dialect` below names the spot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..models.clock import Clock


class Row(Protocol):
    """A result row: `row["column"]` or `row[0]` (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: str | int, /) -> Any: ...


class UniqueViolation(Exception):
    """A write hit a primary key or unique index: another writer stored the same key first."""


@dataclass(frozen=True)
class Dialect:
    """The few places where the backends' SQL differs."""

    name: str
    for_update: str  # appended to a SELECT that reads rows the transaction will change
    holds_uploads: bool  # upload bytes live in the database (every replica serves them), not on local disk


class Connection(Protocol):
    """A connection inside a transaction: everything done through it commits together or not at all."""

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Returns the affected row count."""
        ...

    async def write(self, sql: str, params: Iterable[Any] = ()) -> None:
        """A write whose row count nobody reads. SQLite holds it and sends it with the transaction's next
        statement or its commit (one trip to its thread for several), so a failure (UniqueViolation) may
        be raised there, still inside the transaction; PostgreSQL sends it at once."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for each row; held and sent later, like `write`, on SQLite."""
        ...

    async def serialise(self, name: str) -> None:
        """Holds the named lock until the transaction ends: writers of one sequence take turns."""
        ...

    async def notify(self, channel: str, payload: str) -> None:
        """Wakes every process watching `channel` once the transaction commits (PostgreSQL's NOTIFY);
        nothing on SQLite, whose watchers read on an interval."""
        ...


class Watch(Protocol):
    """What wakes a reader of rows that other processes write (opened by `Database.watch`)."""

    @property
    def listening(self) -> bool:
        """True while notifications arrive; False while the reader is woken on an interval instead."""
        ...

    async def changed(self) -> None:
        """Returns when rows may have changed since the last return: on a notification, on listening
        again after a lost connection (anything notified meanwhile was missed), or after the interval
        while nothing can notify. The caller reads what it needs, then calls again."""
        ...


class Database(Protocol):
    clock: Clock  # stamps created_at / updated_at / received_at
    dialect: Dialect

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One write statement in its own transaction; returns the affected row count."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """Everything inside commits together or not at all."""
        ...

    def watch(self, channel: str, *, interval: float) -> AbstractAsyncContextManager[Watch]:
        """Wake-ups for what any process sharing the database notifies on `channel`; every `interval`
        seconds while there is nothing to listen with (SQLite, or a lost listening connection)."""
        ...


def to_text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def from_text(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
