"""A client that sends its headers and part of a body, then stalls, is answered 408 and let go; nothing is kept."""

from __future__ import annotations

import pytest

from tests.integration.harness import Harness
from tests.integration.served import send_partial, served
from tests.integration.stored import rows, uploaded_files

STALLS = [
    ("/sources", "application/zip", b"PK\x03\x04partial"),
    ("/run", "application/json", b'{"workspace": "demo", '),
    ("/apps", "application/json", b'{"workspace": "demo", '),
    ("/cloudevents", "application/json", b'{"taskRun": {'),
]


@pytest.mark.parametrize(("path", "content_type", "part"), STALLS, ids=[path for path, _, _ in STALLS])
async def test_stalled_body_gets_408_and_the_connection_is_closed(
    harness: Harness, path: str, content_type: str, part: bytes
) -> None:
    async with served(harness, body_read_timeout=0.2) as (host, port):
        head = (f"POST {path} HTTP/1.1\nHost: {host}:{port}\nContent-Type: {content_type}\n"
                "Content-Length: 100000\nCe-Id: 1\nCe-Specversion: 1.0\nCe-Source: /x\n"
                "Ce-Type: dev.tekton.event.taskrun.successful.v1\n")
        reader, writer = await send_partial(host, port, head, part)
        try:
            answer = await reader.read()  # everything until the server closes the connection
        finally:
            writer.close()
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout", answer
        assert b"Connection: close" in rest and b'"error": "request_timeout"' in rest
    assert await rows(harness, "uploads") == [] and await uploaded_files(harness) == []
    assert await rows(harness, "runs") == [] and await rows(harness, "apps") == []
    assert harness.listener.received == []


async def test_a_slow_but_steady_body_is_not_cut(harness: Harness) -> None:
    """The timeout is per read: a body that keeps arriving is read whole, however long it takes in total."""
    async with served(harness, body_read_timeout=5.0) as (host, port):
        body = b'{"workspace": "demo"}'
        head = f"POST /run HTTP/1.1\nHost: {host}:{port}\nContent-Type: application/json\nContent-Length: {len(body)}\n"
        reader, writer = await send_partial(host, port, head, body[:5])
        try:
            for at in range(5, len(body), 4):
                writer.write(body[at:at + 4])
                await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        assert status_line == b"HTTP/1.1 422 Unprocessable Entity\r\n"  # read whole, then judged on its fields
