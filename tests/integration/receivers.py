"""A local stand-in for a notification receiver or the GitHub API: records what it took, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

Json = dict[str, Any]


@dataclass(frozen=True)
class Received:
    path: str
    headers: CIMultiDict[str]
    body: Json


@dataclass
class Receiver:
    """Answers 503 while `down` or for the next `refuse` requests, 201 otherwise; keeps what it took."""

    down: bool = False
    refuse: int = 0
    refused: int = 0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.down or self.refuse > 0:
            self.refuse = max(self.refuse - 1, 0)
            self.refused += 1
            return web.json_response({"message": "unavailable"}, status=503)
        async with self._arrived:
            self.received.append(Received(request.path, CIMultiDict(request.headers), body))
            self._arrived.notify_all()
        return web.json_response({}, status=201)

    async def until(self, done: Callable[[list[Received]], bool]) -> list[Received]:
        """Waits until what was received satisfies `done` (each arrival wakes it), then returns it."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: done(self.received)), timeout=30)
        return list(self.received)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", found.handle)
    server = TestServer(app)
    await server.start_server()
    found.url = str(server.make_url("/"))
    try:
        yield found
    finally:
        await server.close()
