"""What the runner holds on disk and in its database, read the way an operator would, for tests to assert."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.integration.harness import Harness


def _rows(database: Path, table: str) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(f"SELECT * FROM {table}")]


async def rows(harness: Harness, table: str) -> list[dict[str, Any]]:
    """Every row of `table` in the runner's SQLite file."""
    return await asyncio.to_thread(_rows, harness.settings.database_path, table)


async def uploaded_files(harness: Harness) -> list[Path]:
    """Every file under the uploads directory."""
    directory = harness.settings.uploads_dir
    return await asyncio.to_thread(lambda: sorted(directory.glob("*")) if directory.exists() else [])
