"""The runner served the way `tekton-runner serve` serves it (aiohttp's defaults), for tests that speak raw HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from tekton_runner.app import create_app
from tests.integration.harness import Harness


@asynccontextmanager
async def served(harness: Harness, **changes: Any) -> AsyncIterator[tuple[str, int]]:
    """The harness's runner with `changes` to its settings on 127.0.0.1:<free port>; yields (host, port)."""
    settings = harness.settings.model_copy(update=changes)
    runner = web.AppRunner(create_app(settings, registry=CollectorRegistry(), resync=False))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()


class LogWatch(logging.Handler):
    """Sets an event when a record containing `text`, or any error, is logged: a wait without sleeping."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage() or record.levelno >= logging.ERROR:
            self.seen.set()


async def send_partial(host: str, port: int, head: str, body_part: bytes) -> tuple[asyncio.StreamReader,
                                                                                    asyncio.StreamWriter]:
    """Opens a connection and sends a request's headers and only the start of its body."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body_part)
    await writer.drain()
    return reader, writer
