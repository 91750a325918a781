"""A HEAD on a one-time archive link answers like a GET would, and the build's GET still gets the file."""

from __future__ import annotations

import io
import zipfile

from tests.databases import both_backends
from tests.integration.harness import Harness, spec
from tests.integration.stored import rows

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Dockerfile", "FROM scratch\n")
    return buffer.getvalue()


async def _archive_link(harness: Harness) -> tuple[str, bytes]:
    archive = _zip()
    response = await harness.http.post("/sources", data=archive, headers={"Content-Type": "application/zip"})
    assert response.status == 201
    upload_id = (await response.json())["upload_id"]
    await harness.post_run(spec(source={"type": "zip", "upload_id": upload_id}))
    _, event = harness.listener.received[0]
    return "/" + event["archive_url"].split("://", 1)[1].split("/", 1)[1], archive


async def test_head_then_get_serves_the_file_once(harness: Harness) -> None:
    link, archive = await _archive_link(harness)
    for _ in range(2):  # a proxy or link checker may look more than once
        head = await harness.http.head(link)
        assert head.status == 200
        assert head.headers["Content-Length"] == str(len(archive))
        assert head.headers["Content-Type"] == "application/zip"
    assert [row["used_at"] for row in await rows(harness, "archive_tokens")] == [None]
    first = await harness.http.get(link)
    assert first.status == 200 and await first.read() == archive
    assert (await harness.http.get(link)).status == 404
    assert (await harness.http.head(link)).status == 404
    assert all(row["used_at"] for row in await rows(harness, "archive_tokens"))


async def test_head_on_an_unknown_link_is_404(harness: Harness) -> None:
    assert (await harness.http.head("/sources/archive/not-a-token")).status == 404
