"""Reading a run's progress stream (GET /runs/{id}/events) in tests of every tier."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

Message = dict[str, Any]


async def read_events(response: aiohttp.ClientResponse) -> list[Message]:
    """Reads SSE messages until the server ends the stream; comments (keep-alives) are skipped."""
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/event-stream"
    messages: list[Message] = []
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if not line:
            if fields:
                messages.append({"id": int(fields["id"]), "event": fields["event"], **json.loads(fields["data"])})
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return messages


def shape(messages: list[Message]) -> list[tuple[str, str | None, str]]:
    return [(m["event"], m["step"], m["state"]) for m in messages]
