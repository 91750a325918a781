"""A database written by the release before schema versions opens with its data kept and its version current."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from tekton_runner.store.apps import AppStore
from tekton_runner.store.ports import PortStore
from tekton_runner.store.runs import RunStore
from tekton_runner.store.schema import MIGRATIONS, Migration, SchemaTooNew, schema_version
from tekton_runner.store.schema import migrate_sqlite as migrate
from tekton_runner.store.sqlite import SqliteDatabase as Database

# The schema exactly as the previous release created it (no version: user_version stays 0).
PREVIOUS_RELEASE = """
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

ROWS = """
INSERT INTO runs (id, workspace, app, spec_json, state, reason, message, image, digest, created_at, updated_at)
VALUES ('r-old', 'demo', 'shop', '{"workspace": "demo", "app": {"name": "shop", "port": 8080},
        "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"}}',
        'succeeded', 'Deployed', 'ok', 'harbor.test/library/demo-shop:r-old',
        'sha256:aa', '2026-11-01T10:00:00+00:00', '2026-11-01T10:05:00+00:00');
INSERT INTO steps (run_id, name, state, attempts) VALUES ('r-old', 'app', 'succeeded', 1);
INSERT INTO ports (port, workspace, app, run_id, target_host, target_port, created_at, updated_at)
VALUES (18001, 'demo', 'shop', 'r-old', '10.0.0.9', 30080, '2026-11-01T10:05:00+00:00', '2026-11-01T10:05:00+00:00');
INSERT INTO events (key, run_id, ce_id, type, received_at)
VALUES ('uid/successful', 'r-old', 'ce-1', 'dev.tekton.event.taskrun.successful.v1', '2026-11-01T10:04:00+00:00');
"""


def write_previous_release_database(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(PREVIOUS_RELEASE + ROWS)
    connection.close()


def set_version(path: Path, version: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {version}")
    connection.commit()
    connection.close()


async def test_previous_release_database_keeps_its_rows_and_gets_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await asyncio.to_thread(write_previous_release_database, path)
    async with Database.open(path) as database:
        assert (await database.fetch_one("PRAGMA user_version"))[0] == MIGRATIONS[-1].version
        run = await RunStore(database).get("r-old")
        assert run.state == "succeeded" and run.digest == "sha256:aa" and run.spec.app.name == "shop"
        assert [(step.name, step.state) for step in run.steps] == [("app", "succeeded")]
        assert [mapping.port for mapping in await PortStore(database).all()] == [18001]
        assert await AppStore(database).all() == []
        count = await database.fetch_one("SELECT count(*) FROM events")
        assert count is not None and count[0] == 1
        indexes = await database.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
        assert {"events_subject", "events_received"} <= {row["name"] for row in indexes}  # added by version 2
    async with Database.open(path) as database:  # opening again changes nothing
        assert (await database.fetch_one("PRAGMA user_version"))[0] == MIGRATIONS[-1].version
        assert (await RunStore(database).get("r-old")).image == "harbor.test/library/demo-shop:r-old"


async def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await asyncio.to_thread(write_previous_release_database, path)
    await asyncio.to_thread(set_version, path, MIGRATIONS[-1].version + 1)
    with pytest.raises(SchemaTooNew, match=rf"schema version {MIGRATIONS[-1].version + 1}, newer than"):
        async with Database.open(path):
            pass


def test_a_failing_migration_leaves_the_database_at_its_version(tmp_path: Path) -> None:
    broken = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "half done", """
        CREATE TABLE half (id TEXT PRIMARY KEY);
        INSERT INTO no_such_table VALUES (1);
    """))
    with contextlib.closing(sqlite3.connect(tmp_path / "state.sqlite3")) as connection:
        assert migrate(connection) == MIGRATIONS[-1].version
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            migrate(connection, broken)
        assert schema_version(connection) == MIGRATIONS[-1].version
        assert connection.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [migration.version for migration in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert all(migration.statements() for migration in MIGRATIONS)
