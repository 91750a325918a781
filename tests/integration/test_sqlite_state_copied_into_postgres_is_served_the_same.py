"""`tekton-runner store copy` moves a runner's SQLite state into PostgreSQL whole, or leaves the target empty.

The SQLite store is filled by a runner through its API (runs in every state, their steps and transitions,
events, an upload of several chunks with a link issued for its build, an external port, a registered app)
and through the store (a notification position). The copy is made by the real command in its own process.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import sys
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tekton_runner.models.ids import UploadId
from tekton_runner.store.copying import CopyRefused, copy_store, tables_in_order
from tekton_runner.store.postgres import PostgresDatabase
from tekton_runner.store.progress_feed import ProgressFeed
from tekton_runner.store.schema import MIGRATIONS
from tekton_runner.store.sqlite import SqliteDatabase
from tekton_runner.store.uploads import CHUNK_BYTES, UploadStore
from tests.databases import fresh_postgres_database
from tests.integration.harness import Harness, spec

Json = dict[str, Any]
PASSWORD = "pw-never-printed"
REGISTRATION = {"workspace": "demo", "app": {"name": "api", "port": 8080},
                "source": {"url": "https://github.com/acme/api.git", "branch": "main"}, "dependency": {"type": "redis"}}


@pytest.fixture
async def target(postgres_server: str) -> str:
    """An empty database of its own, its URL carrying a password (trust authentication ignores it)."""
    return (await fresh_postgres_database(postgres_server)).replace("postgres:unused@", f"postgres:{PASSWORD}@")


def _zip_of_chunks(chunks: float) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("Dockerfile", b"FROM scratch\n")
        archive.writestr("blob.bin", os.urandom(int(CHUNK_BYTES * chunks)))
    return buffer.getvalue()


async def _fill(harness: Harness) -> dict[str, Any]:
    """Runs in every state and the rest, stored by the runner itself; returns the zip and the build's link."""
    await harness.run_to_success(spec())  # succeeded, with its external port
    deleted = await harness.run_to_success(spec(app={"name": "gone", "port": 8080}))
    assert (await harness.http.delete(f"/runs/{deleted['run_id']}")).status == 200
    failed = (await harness.post_run(spec(app={"name": "broken", "port": 8080})))["run_id"]
    await harness.send_event(harness.finish_taskrun(failed, succeeded=False), "failed")
    await harness.settle()
    archive = _zip_of_chunks(2.5)
    upload = await harness.http.post("/sources", data=io.BytesIO(archive), headers={"Content-Type": "application/zip"})
    assert upload.status == 201, await upload.text()
    upload_id = (await upload.json())["upload_id"]
    await harness.post_run(spec(app={"name": "zipped", "port": 8080},
                                source={"type": "zip", "upload_id": upload_id}))  # building
    link = harness.listener.received[-1][1]["archive_url"]
    harness.listener.status = 503
    await harness.post_run(spec(app={"name": "later", "port": 8080}))  # pending, its request refused
    assert (await harness.http.post("/apps", json=REGISTRATION)).status in (200, 201)
    states = {run["state"] for run in (await (await harness.http.get("/runs")).json())["runs"]}
    assert states == {"succeeded", "deleted", "failed", "building", "pending"}
    return {"archive": archive, "upload_id": upload_id, "link": "/" + link.split("://", 1)[1].split("/", 1)[1]}


async def _served(harness: Harness) -> dict[str, Json]:
    return {path: await (await harness.http.get(path)).json() for path in ("/runs?limit=100", "/external-map", "/apps")}


def _sqlite_rows(path: Path) -> dict[str, list[Json]]:
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {table: [dict(row) for row in connection.execute(f"SELECT * FROM {table}")] for table in tables}


async def _postgres_rows(url: str, tables: list[str]) -> dict[str, list[Json]]:
    connection = await asyncpg.connect(url)
    try:
        return {table: [dict(row) for row in await connection.fetch(f"SELECT * FROM {table}")] for table in tables}
    finally:
        await connection.close()


async def _tables(url: str) -> list[str]:
    connection = await asyncpg.connect(url)
    try:
        return [row[0] for row in await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
    finally:
        await connection.close()


def _key(row: Json) -> str:
    return repr(sorted(row.items()))


async def _run_copy(*args: str, url: str | None = None) -> tuple[int, str]:
    """The command in its own process; `url` goes in TEKTON_RUNNER_DATABASE_URL (else that is unset)."""
    env = {name: value for name, value in os.environ.items() if name != "TEKTON_RUNNER_DATABASE_URL"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tekton_runner.cli", "store", "copy", *args,
        env={**env, "TEKTON_RUNNER_DATABASE_URL": url} if url else env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return int(process.returncode or 0), output.decode()


async def test_copy_holds_every_row_and_a_runner_on_it_serves_the_same(harness: Harness, target: str) -> None:
    filled = await _fill(harness)
    before = await _served(harness)
    await harness.stop()
    source = harness.settings.database_path
    async with SqliteDatabase.open(source) as sqlite:  # a notification target's position, through the store
        await ProgressFeed(sqlite).mark_delivered("https://hooks.example/runs", 3)

    code, output = await _run_copy("--from", str(source), "--to", target)
    assert code == 0, output
    assert PASSWORD not in output and "copied and verified" in output

    expected = await asyncio.to_thread(_sqlite_rows, source)
    upload_file = Path(expected["uploads"][0]["path"])
    copied = await _postgres_rows(target.replace(PASSWORD, "x"), list(expected))
    uploads = {str(row["path"]): row["id"] for row in expected["uploads"]}
    for row in expected["uploads"]:
        row["path"] = ""
    for row in expected["archive_tokens"]:
        if row["path"] in uploads:
            row.update(path="", upload_id=uploads[row["path"]])
    chunks = copied.pop("upload_chunks")
    assert expected.pop("upload_chunks") == []  # SQLite keeps upload bytes as files
    for table, rows in expected.items():
        assert rows, table  # every table had something to copy
        assert sorted(map(_key, copied[table])) == sorted(map(_key, rows)), table
    assert [row["number"] for row in sorted(chunks, key=lambda row: row["number"])] == [0, 1, 2]

    await asyncio.to_thread(upload_file.unlink)  # from now on the bytes can only come from the database
    async with PostgresDatabase.open(target) as postgres:
        held = b"".join([chunk async for chunk in UploadStore(postgres).content(UploadId(filled["upload_id"]))])
        last = await ProgressFeed(postgres).last_number()
    assert held == filled["archive"]

    await harness.start(database_url=target)
    assert await _served(harness) == before
    download = await harness.http.get(filled["link"])  # the build's one-time link, issued before the copy
    assert download.status == 200 and await download.read() == filled["archive"]
    harness.listener.status = 202
    await harness.post_run(spec(app={"name": "after", "port": 8080}))
    numbers = [row["number"] for row in (await _postgres_rows(target, ["progress"]))["progress"]]
    assert len(numbers) == len(set(numbers)) and max(numbers) > last  # numbering continues after the copy


async def test_target_with_rows_is_refused_unless_replaced(harness: Harness, target: str) -> None:
    await harness.run_to_success(spec())
    await harness.stop()
    source = harness.settings.database_path
    assert (await _run_copy("--from", str(source), "--to", target))[0] == 0
    code, output = await _run_copy("--from", str(source), "--to", target)
    assert code == 1 and "not empty" in output and "--replace" in output and PASSWORD not in output
    code, output = await _run_copy("--from", str(source), "--replace", url=target)  # the URL off the command line
    assert code == 0 and PASSWORD not in output, output
    runs = (await _postgres_rows(target, ["runs"]))["runs"]
    assert len(runs) == 1


async def test_copy_without_a_postgresql_url_or_source_file_names_what_is_missing(tmp_path: Path,
                                                                                target: str) -> None:
    code, output = await _run_copy("--from", str(tmp_path / "state.sqlite3"))
    assert code == 2 and "--to postgresql://" in output
    code, output = await _run_copy("--from", str(tmp_path / "absent.sqlite3"), url=target)
    assert code == 1 and "no SQLite database at" in output and await _tables(target) == []


async def test_copy_refuses_while_a_runner_serves_on_the_source(harness: Harness, target: str) -> None:
    await harness.run_to_success(spec())  # the harness's runner has the file open
    code, output = await _run_copy("--from", str(harness.settings.database_path), "--to", target)
    assert code == 1 and "is open in another process" in output
    assert await _tables(target) == []  # refused before the target was touched
    await harness.stop()
    assert (await _run_copy("--from", str(harness.settings.database_path), "--to", target))[0] == 0


async def test_copy_that_fails_midway_leaves_the_target_empty(harness: Harness, target: str) -> None:
    await harness.run_to_success(spec())
    upload = await harness.http.post("/sources", data=io.BytesIO(_zip_of_chunks(0.5)),
                                     headers={"Content-Type": "application/zip"})
    assert upload.status == 201
    await harness.stop()
    source = harness.settings.database_path
    async with SqliteDatabase.open(source) as sqlite:
        order = [table.name for table in await tables_in_order(sqlite)]
        path = Path(str((await sqlite.fetch_all("SELECT path FROM uploads"))[0]["path"]))
    assert order.index("runs") < order.index("steps") < order.index("uploads")  # uploads come after runs
    await asyncio.to_thread(path.unlink)  # the file of an upload is gone: the copy stops at that row

    with pytest.raises(CopyRefused, match="cannot read its file"):
        await copy_store(source, target)
    copied = await _postgres_rows(target, order)
    assert {table: rows for table, rows in copied.items() if rows} == {}
    assert (await _postgres_rows(target, ["schema_version"]))["schema_version"] == [
        {"version": MIGRATIONS[-1].version}]


def test_schema_has_no_sequence_the_copy_would_have_to_move_past_its_ids() -> None:
    """The copy keeps numbers as they are because each write takes the highest stored plus one; a column fed by
    a PostgreSQL sequence would need `setval` past the copied ids in copying.py."""
    words = ("serial", "identity", "sequence", "nextval", "autoincrement")
    assert [(m.version, w) for m in MIGRATIONS for w in words if w in m.script.lower()] == []
