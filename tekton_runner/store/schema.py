"""The database schema as numbered migrations and the code that applies them; called when a backend opens.

One list for both backends, in SQL both accept. The version lives in SQLite's `PRAGMA user_version`, and in
the one-row `schema_version` table on PostgreSQL. Each migration runs in one transaction together with the
version bump, so a database is always at exactly one known version; on PostgreSQL an advisory lock makes
replicas starting together apply each migration once. Add a change as a new entry at the end of
`MIGRATIONS`; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class SchemaTooNew(RuntimeError):
    """The database was written by a newer tekton-runner; this one cannot know what its columns mean."""


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    script: str  # SQL statements separated by semicolons

    def statements(self) -> list[str]:
        found: list[str] = []
        pending = ""
        for line in self.script.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                found.append(pending.strip())
                pending = ""
        if pending.strip():
            raise ValueError(f"migration {self.version} ends in an incomplete statement: {pending.strip()!r}")
        return found


# Version 1 is the schema of the releases before versioning, kept with IF NOT EXISTS so that their
# databases (user_version 0, tables present) are adopted as version 1 without change.
_VERSION_1 = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    app TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL,
    digest TEXT,
    event_id TEXT,
    taskrun_uid TEXT,
    endpoint_json TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    accepted_at TEXT,
    idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS runs_state ON runs (state);
CREATE UNIQUE INDEX IF NOT EXISTS runs_idempotency ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_app ON runs (workspace, app);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    started_at TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY,
    run_id TEXT,
    ce_id TEXT NOT NULL,
    type TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_tokens (
    token TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS apps (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    app TEXT NOT NULL,
    registration_json TEXT NOT NULL,
    image_repository TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ports (
    port INTEGER PRIMARY KEY,
    workspace TEXT NOT NULL,
    app TEXT NOT NULL,
    run_id TEXT NOT NULL,
    target_host TEXT,
    target_port INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace, app)
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, steps, events, uploads, archive tokens, apps and ports", _VERSION_1),
    # IF NOT EXISTS: databases of the release that added these indexes before versioning already have them.
    Migration(2, "processed events found by subject and pruned by age", """
CREATE INDEX IF NOT EXISTS events_subject ON events (run_id);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
"""),
    Migration(3, "a waiting or retrying step stores when it is due again", """
ALTER TABLE steps ADD COLUMN due_at TEXT;
"""),
    Migration(4, "each run's transitions, numbered, for clients that follow a run", """
CREATE TABLE progress (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    subject TEXT NOT NULL,
    step TEXT,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
"""),
    Migration(5, "a redeployed run names the run whose image it deploys again", """
ALTER TABLE runs ADD COLUMN redeploy_of TEXT;
"""),
    # Older transitions keep a NULL number: notifications start with what happens after this release.
    Migration(6, "transitions numbered across runs for outgoing notifications, and how far each target got", """
ALTER TABLE progress ADD COLUMN number INTEGER;
CREATE UNIQUE INDEX progress_number ON progress (number);
ALTER TABLE runs ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE deliveries (
    target TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"""),
    # BYTEA is PostgreSQL's binary type; SQLite keeps any value it is given in such a column as it is.
    # Events recorded before this release keep a NULL number: the leader's first resync covers them.
    Migration(7, "upload bytes held in the database, so that every replica can serve them; events numbered", """
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (upload_id, number)
);
ALTER TABLE archive_tokens ADD COLUMN upload_id TEXT;
ALTER TABLE events ADD COLUMN number INTEGER;
CREATE UNIQUE INDEX events_number ON events (number);
"""),
    Migration(8, "runs listed newest first, and each app's newest run, read from indexes", """
CREATE INDEX runs_created ON runs (created_at, id);
CREATE INDEX runs_app_created ON runs (workspace, app, created_at);
"""),
)


def _refuse_newer(current: int, migrations: Sequence[Migration], where: str) -> None:
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNew(
            f"the database has schema version {current}, newer than {latest}, the latest this tekton-runner "
            f"knows: run a newer tekton-runner, or point {where} at another database"
        )


def schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row is not None else 0


def migrate_sqlite(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Applies every migration above the database's version in order; returns the version reached. Blocks:
    called on the store's own thread (sqlite.py)."""
    current = schema_version(connection)
    _refuse_newer(current, migrations, "TEKTON_RUNNER_DATABASE")
    for migration in migrations:
        if migration.version <= current:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements():
                connection.execute(statement)
            # PRAGMA takes no parameters; the version is an int from this module.
            connection.execute(f"PRAGMA user_version = {int(migration.version)}")
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
        current = migration.version
    return current


# Any fixed number: every replica takes this advisory lock around each migration.
_MIGRATION_LOCK = 7_431_002


async def migrate_postgres(connection: Any, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The same migrations on an asyncpg connection, the version kept in `schema_version`."""
    await connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = 0
    for migration in (None, *migrations):
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            current = int(await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
            _refuse_newer(current, migrations, "TEKTON_RUNNER_DATABASE_URL")
            if migration is None or migration.version <= current:
                continue
            for statement in migration.statements():
                await connection.execute(statement)
            await connection.execute("DELETE FROM schema_version")
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.version)
            current = migration.version
    return current
