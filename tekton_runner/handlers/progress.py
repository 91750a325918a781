"""GET /runs/{id}/events: a run's transitions as Server-Sent Events, history first, until the run ends."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from ..models.api import EventsQuery
from ..models.progress import Progress
from ..service.progress import KeepAlive
from .keys import PROGRESS
from .problems import invalid, invalid_field

routes = web.RouteTableDef()
log = logging.getLogger("tekton_runner.http")
MAX_DIGITS = 15


def encode(item: Progress | KeepAlive) -> bytes:
    """One SSE message: `id` is the transition's number (what Last-Event-ID resumes after)."""
    if isinstance(item, KeepAlive):
        return b": keep-alive\n\n"
    data = item.model_dump_json(exclude={"run_id"})
    return f"id: {item.seq}\nevent: {item.subject.value}\ndata: {data}\n\n".encode()


def _after(request: web.Request) -> int | web.Response:
    """Where to resume: the Last-Event-ID header a reconnecting EventSource sends, or ?after=N."""
    try:
        query = EventsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    header = request.headers.get("Last-Event-ID")
    if header is not None:
        if not header.isascii() or not header.isdigit() or len(header) > MAX_DIGITS:
            return invalid_field("Last-Event-ID", "must be the number of a transition already received (0 or more)")
        return int(header)
    return int(query.after) if query.after is not None else 0


@routes.get("/runs/{run_id}/events")
async def run_events(request: web.Request) -> web.StreamResponse:
    after = _after(request)
    if isinstance(after, web.Response):
        return after
    stream = await request.app[PROGRESS].follow(request.match_info["run_id"], after=after)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    try:
        await response.prepare(request)
        async for item in stream:
            await response.write(encode(item))
    except ConnectionError:
        log.info("a client following run %s went away", request.match_info["run_id"])
    finally:
        await stream.aclose()
    return response
