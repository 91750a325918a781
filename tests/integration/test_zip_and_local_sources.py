"""Zip uploads and local directories reach the build as a one-time download; bad archives are refused."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from tests.databases import both_backends
from tests.integration.harness import Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


async def _upload(harness: Harness, body: bytes) -> tuple[int, dict[str, object]]:
    response = await harness.http.post("/sources", data=io.BytesIO(body), headers={"Content-Type": "application/zip"})
    return response.status, dict(await response.json())


async def test_uploaded_zip_is_served_to_the_build_exactly_once(harness: Harness) -> None:
    archive = _zip({"Dockerfile": b"FROM scratch\n", "app/main.py": b"print('hi')\n"})
    status, upload = await _upload(harness, archive)
    assert status == 201, upload
    run = await harness.post_run(spec(source={"type": "zip", "upload_id": upload["upload_id"]}))
    _, event = harness.listener.received[0]
    assert event["source_type"] == "zip" and event["git_url"] == ""
    url = event["archive_url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    first = await harness.http.get("/" + path)
    assert first.status == 200 and await first.read() == archive
    again = await harness.http.get("/" + path)
    assert again.status == 404
    assert (await harness.run(run["run_id"]))["state"] == "building"


async def test_zip_slip_member_is_refused(harness: Harness) -> None:
    status, body = await _upload(harness, _zip({"../../etc/cron.d/evil": b"x"}))
    assert status == 422 and "outside the build directory" in str(body["message"])


async def test_absolute_member_is_refused(harness: Harness) -> None:
    status, _ = await _upload(harness, _zip({"/abs/path": b"x"}))
    assert status == 422


async def test_symlink_member_is_refused(harness: Harness) -> None:
    status, body = await _upload(harness, _zip({"Dockerfile": b"FROM scratch\n"}, symlink="link"))
    assert status == 422 and "symbolic link" in str(body["message"])


async def test_zip_bomb_is_refused(harness: Harness) -> None:
    status, body = await _upload(harness, _zip({"zeros": b"\0" * (20 * 1024 * 1024)}))
    assert status == 422 and "zip bomb" in str(body["message"])


async def test_not_a_zip_is_refused(harness: Harness) -> None:
    status, _ = await _upload(harness, b"plain text, not an archive")
    assert status == 422


async def test_upload_over_the_limit_is_413(harness: Harness) -> None:
    await harness.stop()
    await harness.start(max_upload_bytes=1024)
    status, _ = await _upload(harness, _zip({"big": os.urandom(16 * 1024)}))
    assert status == 413
    assert list((harness.settings.uploads_dir).glob("*")) == []


async def test_local_directory_is_packed_and_served(harness: Harness, tmp_path: Path) -> None:
    source = tmp_path / "src" / "shop"
    (source / "app").mkdir(parents=True)
    (source / "Dockerfile").write_text("FROM scratch\n")
    (source / "app" / "main.py").write_text("print('hi')\n")
    (source / "secret-link").symlink_to("/etc/passwd")
    await harness.post_run(spec(source={"type": "local", "path": str(source)}))
    _, event = harness.listener.received[0]
    path = event["archive_url"].split("://", 1)[1].split("/", 1)[1]
    response = await harness.http.get("/" + path)
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert sorted(archive.namelist()) == ["Dockerfile", "app/main.py"]


async def test_local_path_outside_the_roots_is_refused(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    escape = tmp_path / "src" / ".." / "elsewhere"
    escape.mkdir()
    response = await harness.http.post("/run", json=spec(source={"type": "local", "path": str(escape)}))
    assert response.status == 422
    assert harness.listener.received == []
