"""A client that disconnects mid-request is logged as such at info level, never as a server error."""

from __future__ import annotations

import logging

import pytest

from tests.integration.harness import Harness
from tests.integration.served import LogWatch, send_partial, served
from tests.integration.stored import rows, uploaded_files

REQUESTS = [
    ("/sources", "application/zip", b"PK\x03\x04partial"),
    ("/run", "application/json", b'{"workspace": "demo", '),
]


@pytest.mark.parametrize(("path", "content_type", "part"), REQUESTS, ids=[path for path, _, _ in REQUESTS])
async def test_disconnect_mid_body_is_logged_below_error(
    harness: Harness, caplog: pytest.LogCaptureFixture, path: str, content_type: str, part: bytes
) -> None:
    watch = LogWatch("went away")
    logging.getLogger().addHandler(watch)
    caplog.set_level(logging.DEBUG)
    try:
        async with served(harness) as (host, port):
            head = f"POST {path} HTTP/1.1\nHost: {host}:{port}\nContent-Type: {content_type}\nContent-Length: 100000\n"
            _, writer = await send_partial(host, port, head, part)
            writer.close()
            await writer.wait_closed()
            await watch.seen.wait()
    finally:
        logging.getLogger().removeHandler(watch)
    gone = [record for record in caplog.records if "went away" in record.getMessage()]
    assert gone and all(record.levelno == logging.INFO for record in gone)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == [], [record.getMessage() for record in errors]
    assert all(record.exc_info is None for record in caplog.records if record.name.startswith("tekton_runner"))
    assert await rows(harness, "uploads") == [] and await uploaded_files(harness) == []
    assert await rows(harness, "runs") == []
