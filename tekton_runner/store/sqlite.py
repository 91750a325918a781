"""The embedded backend for one replica: one SQLite file used from one thread of its own, writes serialised
by a lock.

Opened by opening.py when no PostgreSQL URL is set. One process owns the file, so an in-process lock is
enough to make each transaction atomic with respect to the others. Every use of the file is a trip to its
thread, which costs far more CPU than a small statement: inside a transaction, writes whose row count nobody
reads (`write`, `execute_many`) are held and sent with the transaction's next statement or its commit, so a
transaction of several inserts and one read is two trips.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..models.clock import SYSTEM_CLOCK, Clock
from .database import Dialect, Row, UniqueViolation
from .schema import migrate_sqlite

SQLITE = Dialect(name="sqlite", for_update="", holds_uploads=False)
T = TypeVar("T")


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


class _Thread:
    """The one thread that uses the sqlite3 connection; each `run` is one trip there, in call order.

    A queue and a thread of its own rather than an executor: run_in_executor builds a concurrent Future,
    with a lock and a condition, for every call; measured, a trip cost about 40 us of CPU that way
    against about 22 us here (docs/benchmarks.md)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="tekton-runner-sqlite", daemon=True)
        self._thread.start()

    async def run(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._jobs.put(_Job(work, done, loop))
        return await done

    def stop(self) -> None:
        """The thread ends once the work queued before this is done."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                result = job.work()
            except BaseException as error:  # handed to the caller, whatever it is
                answer: Callable[[], None] = partial(_fail, job.done, error)
            else:
                answer = partial(_settle, job.done, result)
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed: nobody waits
                job.loop.call_soon_threadsafe(answer)


@dataclass(frozen=True)
class _Job(Generic[T]):
    work: Callable[[], T]
    done: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


def _settle(done: asyncio.Future[T], result: T) -> None:
    if not done.cancelled():  # its caller went away; the work was done all the same
        done.set_result(result)


def _fail(done: asyncio.Future[Any], error: BaseException) -> None:
    if not done.cancelled():
        done.set_exception(error)


# What a trip ends with, after the held writes: the caller's own statement.
def _rows(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    return list(connection.execute(sql, params).fetchall())


def _row_count(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> int:
    return connection.execute(sql, params).rowcount


def _commit(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> None:
    connection.commit()


class SqliteConnection:
    def __init__(self, thread: _Thread, raw: sqlite3.Connection) -> None:
        self._thread = thread
        self._raw = raw
        self._held: list[tuple[str, Sequence[Any], bool]] = []  # (sql, params or rows, executemany)

    async def fetch_one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self._send(_rows, sql, tuple(params))
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._send(_rows, sql, tuple(params))

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return await self._send(_row_count, sql, tuple(params))

    async def write(self, sql: str, params: Iterable[Any] = ()) -> None:
        self._held.append((sql, tuple(params), False))

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._held.append((sql, [tuple(row) for row in rows], True))

    async def serialise(self, name: str) -> None:
        """Nothing to do: the database's lock already runs one transaction at a time."""

    async def notify(self, channel: str, payload: str) -> None:
        """Nothing to do: SQLite cannot notify; watchers read on an interval (`Polling`)."""

    async def commit(self) -> None:
        await self._send(_commit, "", ())

    async def rollback(self) -> None:
        self._held.clear()
        await self._thread.run(self._raw.rollback)

    async def _send(self, finish: Callable[[sqlite3.Connection, str, tuple[Any, ...]], T], sql: str,
                    params: tuple[Any, ...]) -> T:
        """One trip: the held writes in order, then `finish`; a failure of any of them is raised here."""
        held, self._held = self._held, []

        connection = self._raw

        def work() -> T:
            for statement, values, many in held:
                if many:
                    connection.executemany(statement, values)
                else:
                    connection.execute(statement, values)
            return finish(connection, sql, params)

        with _unique_violation():
            return await self._thread.run(work)


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

    def __init__(self, thread: _Thread, raw: sqlite3.Connection, clock: Clock = SYSTEM_CLOCK) -> None:
        self._connection = SqliteConnection(thread, raw)
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
        thread = _Thread()
        try:
            connection = await thread.run(partial(_connect, str(path), exclusive))
            try:
                await thread.run(partial(_prepare, connection, path, exclusive))
                yield cls(thread, connection, clock)
            finally:
                await thread.run(connection.close)
        finally:
            thread.stop()

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
                await self._connection.rollback()
                raise
            try:
                await self._connection.commit()
            except BaseException:  # a held write failed, or the commit itself
                await self._connection.rollback()
                raise

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self.transaction() as connection:
            return await connection.execute(sql, params)

    @asynccontextmanager
    async def watch(self, channel: str, *, interval: float) -> AsyncIterator[Polling]:
        yield Polling(self.clock, interval)


def _connect(path: str, exclusive: bool) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=0 if exclusive else 5.0, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    return connection


def _prepare(connection: sqlite3.Connection, path: Path | str, exclusive: bool) -> None:
    if exclusive:
        _lock_exclusively(connection, path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA synchronous=NORMAL")
    migrate_sqlite(connection)


def _lock_exclusively(connection: sqlite3.Connection, path: Path | str) -> None:
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")  # in this mode the lock outlives the transaction
        connection.commit()
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        raise DatabaseInUse(f"{path} is open in another process (is a runner serving on it?): {error}") from error
