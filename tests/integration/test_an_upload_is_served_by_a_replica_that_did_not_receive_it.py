"""With PostgreSQL, an uploaded zip or a packed local source lives in the database: the build's one-time link
works on another replica (its own data directory, nothing on its disk), and only once across replicas."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from tekton_runner.app import create_app
from tekton_runner.models.settings import Settings
from tests.integration.harness import Harness, spec

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest_asyncio.fixture
async def other_replica(harness: Harness, tmp_path: Path) -> AsyncIterator[TestClient]:
    """A second runner on the same database with a data directory of its own."""
    settings = Settings(**{**dict(harness.settings), "data_dir": tmp_path / "other-replica"})
    client = TestClient(TestServer(create_app(settings, registry=CollectorRegistry(), resync=False)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Dockerfile", "FROM scratch\n")
    return buffer.getvalue()


def _link_path(harness: Harness) -> str:
    _, event = harness.listener.received[-1]
    return "/" + str(event["archive_url"]).split("://", 1)[1].split("/", 1)[1]


async def test_a_zip_uploaded_to_one_replica_is_downloaded_from_another_once(
        harness: Harness, other_replica: TestClient) -> None:
    body = _zip()
    response = await harness.http.post("/sources", data=body, headers={"Content-Type": "application/zip"})
    assert response.status == 201
    upload_id = (await response.json())["upload_id"]
    assert list(harness.settings.uploads_dir.glob("*")) == []  # nothing kept on the receiving replica's disk
    await harness.post_run(spec(source={"type": "zip", "upload_id": upload_id}))
    link = _link_path(harness)
    head = await other_replica.head(link)
    assert head.status == 200 and head.headers["Content-Length"] == str(len(body))
    download = await other_replica.get(link)
    assert download.status == 200 and await download.read() == body
    assert (await harness.http.get(link)).status == 404  # used up on every replica


async def test_a_packed_local_source_is_served_by_another_replica(
        harness: Harness, other_replica: TestClient, tmp_path: Path) -> None:
    source = tmp_path / "src" / "shop"
    source.mkdir(parents=True)
    (source / "Dockerfile").write_text("FROM scratch\n")
    await harness.post_run(spec(source={"type": "local", "path": str(source)}))
    download = await other_replica.get(_link_path(harness))
    assert download.status == 200
    with zipfile.ZipFile(io.BytesIO(await download.read())) as archive:
        assert archive.namelist() == ["Dockerfile"]
