"""What the runner holds on disk and in its database, read the way an operator would, for tests to assert.

The database is read with the backend's own client (sqlite3, or asyncpg for PostgreSQL), not through the
runner's store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg

from tekton_runner.models.settings import reveal
from tests.integration.harness import Harness


def _rows(database: Path, table: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]


async def rows(harness: Harness, table: str) -> list[dict[str, Any]]:
    """Every row of `table` in the runner's database."""
    url = reveal(harness.settings.database_url)
    if url is None:
        return await asyncio.to_thread(_rows, harness.settings.database_path, table)
    connection = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await connection.fetch(f"SELECT * FROM {table}")]
    finally:
        await connection.close()


async def uploaded_files(harness: Harness) -> list[Path]:
    """Every file under the uploads directory."""
    directory = harness.settings.uploads_dir
    return await asyncio.to_thread(lambda: sorted(directory.glob("*")) if directory.exists() else [])
