"""Opens the store the settings choose: PostgreSQL when a URL is set, else the embedded SQLite file.

Called once by the app's lifetime; the store modules then see only the Database interface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ..models.clock import SYSTEM_CLOCK, Clock
from .database import Database
from .postgres import PostgresDatabase
from .sqlite import SqliteDatabase


@asynccontextmanager
async def open_database(*, url: str | None, path: Path, clock: Clock = SYSTEM_CLOCK,
                        pool_size: int = 10) -> AsyncIterator[Database]:
    if url:
        async with PostgresDatabase.open(url, clock=clock, pool_size=pool_size) as shared:
            yield shared
    else:
        async with SqliteDatabase.open(path, clock=clock) as embedded:
            yield embedded
