"""Reading a run's progress stream (GET /runs/{id}/events) in tests of every tier."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp

Message = dict[str, Any]


async def read_events(response: aiohttp.ClientResponse) -> list[Message]:
    """Reads SSE messages until the server ends the stream; comments (keep-alives) are skipped."""
    return await read_until(response, lambda _message: False)


async def read_until(response: aiohttp.ClientResponse, last: Callable[[Message], bool]) -> list[Message]:
    """Reads SSE messages up to the first for which `last` holds (or until the stream ends); the rest of
    the stream stays unread, for another call."""
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/event-stream"
    messages: list[Message] = []
    fields: dict[str, str] = {}
    while raw := await response.content.readline():
        line = raw.decode().rstrip("\n")
        if not line:
            if fields:
                messages.append({"id": int(fields["id"]), "event": fields["event"], **json.loads(fields["data"])})
                if last(messages[-1]):
                    return messages
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return messages


def shape(messages: list[Message]) -> list[tuple[str, str | None, str]]:
    return [(m["event"], m["step"], m["state"]) for m in messages]
