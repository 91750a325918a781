"""Copies the embedded SQLite store into PostgreSQL, for `tekton-runner store copy` (docs/scaling.md).

The source is locked for this process alone (a runner serving on it makes the copy refuse, and none can
start on it meanwhile) and brought to this release's schema, as `serve` would; the target is migrated to
the same version. Every table is copied in foreign-key order, in batches, inside one transaction of the
target, then the row counts are compared before it commits: a copy that fails leaves the target as it
was. Ids and numbers are copied as they are; the schema has no sequences (numbers are the highest stored
plus one at each write), so the next write on the copy continues after them. Upload files become chunks in
the database (where PostgreSQL keeps them) and archive links of uploads follow them there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .database import Connection, Database, placeholders
from .postgres import PostgresDatabase
from .sqlite import DatabaseInUse, SqliteDatabase
from .uploads import CHUNK_BYTES

BATCH_ROWS = 500
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class CopyRefused(RuntimeError):
    """The copy did not happen (or was undone); the message says why and what to do."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]


@asynccontextmanager
async def _stores(source: Path, target_url: str) -> AsyncIterator[tuple[Database, Database]]:
    if not await asyncio.to_thread(source.is_file):
        raise CopyRefused(f"no SQLite database at {source}")
    try:
        async with SqliteDatabase.open(source, exclusive=True) as sqlite, PostgresDatabase.open(
                target_url, pool_size=1) as postgres:
            yield sqlite, postgres
    except DatabaseInUse as error:
        raise CopyRefused(f"{error}: stop it first") from error


async def copy_store(source: Path, target_url: str, *, replace: bool = False,
                     report: Callable[[str], None] = lambda line: None) -> dict[str, int]:
    """Copies every row of the SQLite file `source` into the PostgreSQL database at `target_url`; returns
    the rows per table now in the target. Refuses a target holding rows unless `replace`, which empties it
    in the same transaction."""
    async with _stores(source, target_url) as (sqlite, postgres):
        tables = await tables_in_order(sqlite)
        expected = {table.name: await _count(sqlite, table.name) for table in tables}
        async with postgres.transaction() as target:
            # No other writer until the copy commits (a runner started on the target waits), so the check
            # below stays true.
            await target.execute(f"LOCK TABLE {', '.join(table.name for table in tables)} IN EXCLUSIVE MODE")
            held = {table.name: count for table in tables if (count := await _count(target, table.name))}
            if held and not replace:
                listed = ", ".join(f"{name} ({count} rows)" for name, count in held.items())
                raise CopyRefused(f"the target database is not empty: {listed}; give --replace to empty it first")
            for table in reversed(tables):
                await target.execute(f"DELETE FROM {table.name}")
            for table in tables:
                copied = await _copy_table(sqlite, target, table, expected)
                report(f"{table.name}: {copied} rows")
            return await _verify(target, tables, expected)


async def tables_in_order(database: Database) -> list[Table]:
    """The source's tables, each after the tables its foreign keys name (else alphabetically)."""
    rows = await database.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    names = [str(row["name"]) for row in rows]
    parents: dict[str, set[str]] = {}
    columns: dict[str, tuple[str, ...]] = {}
    for name in names:
        if not _NAME.match(name):
            raise CopyRefused(f"the source has a table this release does not know: {name!r}")
        keys = await database.fetch_all(f"PRAGMA foreign_key_list({name})")
        parents[name] = {str(key["table"]) for key in keys} - {name}
        columns[name] = tuple(str(row["name"]) for row in await database.fetch_all(f"PRAGMA table_info({name})"))
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [name for name in names if name not in ordered and parents[name] <= set(ordered)]
        if not ready:
            raise CopyRefused(f"the source's foreign keys form a cycle among {sorted(set(names) - set(ordered))}")
        ordered.extend(ready[:1])
    return [Table(name, columns[name]) for name in ordered]


async def _copy_table(source: Database, target: Connection, table: Table, expected: dict[str, int]) -> int:
    """Copies the table's rows a batch at a time, oldest row first; returns how many."""
    listed = ", ".join(table.columns)
    insert = f"INSERT INTO {table.name} ({listed}) VALUES ({placeholders(len(table.columns))})"
    shape = _SHAPES.get(table.name, _as_is)
    copied, after = 0, 0
    while rows := await source.fetch_all(
            f"SELECT rowid, {listed} FROM {table.name} WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, BATCH_ROWS)):
        after = int(rows[-1][0])
        batch: list[list[Any]] = []
        for row in rows:
            values = await shape(source, target, {column: row[column] for column in table.columns}, expected)
            if values is not None:
                batch.append([values[column] for column in table.columns])
        await target.execute_many(insert, batch)
        copied += len(rows)
    return copied


Values = dict[str, Any]
Shape = Callable[[Database, Connection, Values, dict[str, int]], Awaitable[Values | None]]


async def _as_is(source: Database, target: Connection, values: Values, expected: dict[str, int]) -> Values:
    return values


async def _upload(source: Database, target: Connection, values: Values, expected: dict[str, int]) -> Values | None:
    """An upload kept as a file on the runner's host: its bytes become chunks, as PostgreSQL holds them. The
    row and its chunks are stored here (None: nothing left to insert)."""
    if not values["path"]:
        return values
    path = Path(values["path"])
    try:
        handle = await asyncio.to_thread(path.open, "rb")
    except OSError as error:
        raise CopyRefused(f"upload {values['id']}: cannot read its file {path}: {error.strerror}") from error
    values = {**values, "path": ""}
    await target.execute(f"INSERT INTO uploads ({', '.join(values)}) VALUES ({placeholders(len(values))})",
                         list(values.values()))
    number = 0
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            await target.execute("INSERT INTO upload_chunks (upload_id, number, data) VALUES (?, ?, ?)",
                                 (values["id"], number, chunk))
            number += 1
    finally:
        await asyncio.to_thread(handle.close)
    # Chunks the source does not have: the target's upload_chunks holds them beside the source's own.
    expected["upload_chunks"] = expected.get("upload_chunks", 0) + number
    return None


async def _archive_token(source: Database, target: Connection, values: Values, expected: dict[str, int]) -> Values:
    """A link to an upload's file now links to the upload in the database; other files stay on this host."""
    if values["path"] and not values["upload_id"]:
        row = await source.fetch_one("SELECT id FROM uploads WHERE path = ?", (values["path"],))
        if row is not None:
            return {**values, "path": "", "upload_id": row["id"]}
    return values


_SHAPES: dict[str, Shape] = {"uploads": _upload, "archive_tokens": _archive_token}


async def _count(connection: Connection | Database, table: str) -> int:
    row = await connection.fetch_one(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row is not None else 0


async def _verify(target: Connection, tables: Sequence[Table], expected: dict[str, int]) -> dict[str, int]:
    held = {table.name: await _count(target, table.name) for table in tables}
    wrong = {name: (count, expected.get(name, 0)) for name, count in held.items() if count != expected.get(name, 0)}
    if wrong:
        listed = ", ".join(f"{name} has {count} rows, not {want}" for name, (count, want) in wrong.items())
        raise CopyRefused(f"the copy does not match its source ({listed}); nothing was stored")
    short = await target.fetch_all(
        "SELECT uploads.id FROM uploads LEFT JOIN (SELECT upload_id, SUM(LENGTH(data)) AS size FROM upload_chunks"
        " GROUP BY upload_id) AS held ON held.upload_id = uploads.id"
        " WHERE uploads.path = '' AND COALESCE(held.size, 0) <> uploads.size")
    if short:
        ids = ", ".join(str(row[0]) for row in short)
        raise CopyRefused(f"uploads {ids} hold fewer or more bytes than their recorded size; nothing was stored")
    return held
