"""A recording CloudEvents sink on 127.0.0.1 for the platform tests (no runner involved).

Tekton's events controller posts binary-mode CloudEvents: attributes in Ce-* headers, the data (a
v1beta1 TaskRun wrapped in {"taskRun": ...}) as the JSON body.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ReceivedEvent:
    type: str
    subject: str
    id: str
    data: dict[str, Any]
    size: int = 0  # bytes of the body as it arrived
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def taskrun(self) -> dict[str, Any]:
        found: dict[str, Any] = self.data.get("taskRun") or {}
        return found


class EventSink:
    def __init__(self) -> None:
        self.events: list[ReceivedEvent] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            data = json.loads(body) if body else {}
        except json.JSONDecodeError:
            data = {"raw": body.decode(errors="replace")}
        event = ReceivedEvent(type=request.headers.get("Ce-Type", ""),
                              subject=request.headers.get("Ce-Subject", ""),
                              id=request.headers.get("Ce-Id", ""), data=data, size=len(body),
                              headers=tuple(request.headers.items()))
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        return web.Response(status=202)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/cloudevents"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, what: str, ce_type: str, subject: str, within: float) -> ReceivedEvent:
        deadline = time.monotonic() + within

        def found() -> ReceivedEvent | None:
            return next((e for e in self.events if e.type == ce_type and e.subject == subject), None)

        async with self._changed:
            while (event := found()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(e.type, e.subject) for e in self.events]
                    raise AssertionError(
                        f"no {what} ({ce_type} for {subject}) within {within:.0f}s; saw {seen}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    continue
            return event
