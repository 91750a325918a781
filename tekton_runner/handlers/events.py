"""POST /cloudevents: Tekton's TaskRun events, parsed at the edge and handed to service/events.py as hints.

The sink has to be open (Tekton's events controller sends no credentials), so nothing in an event is
believed: the service only lets an event for a live run, or for a registered app, make the orchestrator
read that run's TaskRun from its own build namespace; everything then follows what the API server returned.
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from pydantic import ValidationError

from ..models.settings import reveal
from ..models.taskruns import TASKRUN_EVENT_PREFIX, TaskRunEvent, TaskRunView
from ..service.events import Outcome
from .keys import EVENTS, SETTINGS
from .problems import header_text, problem, read_body

routes = web.RouteTableDef()
REQUIRED_HEADERS = ("ce-id", "ce-source", "ce-specversion", "ce-type")


def parse_event(headers: dict[str, str], body: bytes) -> TaskRunEvent | None:
    """A TaskRun event, or None for another type (not an error); ValueError when it is not a CloudEvent."""
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except Exception as error:  # the SDK raises several unrelated types for malformed input
        raise ValueError(f"not a CloudEvent: {error}") from error
    attributes = event.get_attributes()
    given = {name.lower(): value for name, value in headers.items()}
    binary = not given.get("content-type", "").startswith("application/cloudevents")
    if binary and (missing := [name for name in REQUIRED_HEADERS if not header_text(given.get(name, ""))]):
        # The SDK would make a missing id or specversion up; header values are percent-encoded ASCII.
        raise ValueError(f"not a CloudEvent: {', '.join(missing)} missing or not visible ASCII")
    if not all(str(attributes.get(name, "")).isprintable() for name in ("id", "source", "type")):
        raise ValueError("not a CloudEvent: id, source and type must be printable text")
    type_ = str(attributes.get("type", ""))
    if not type_.startswith(TASKRUN_EVENT_PREFIX):
        return None
    data: Any = event.get_data()
    if not isinstance(data, dict) or not isinstance(data.get("taskRun"), dict):
        raise ValueError("a TaskRun event must carry {\"taskRun\": {...}} as its data")
    return TaskRunEvent(id=str(attributes.get("id", "")), type=type_,
                        taskrun=TaskRunView.model_validate(data["taskRun"]))


def _sink_path_allowed(request: web.Request, secret: str | None) -> bool:
    given = request.match_info.get("secret")
    if secret is None:
        return given is None
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


ANSWERS = {
    Outcome.IGNORED: (202, {"action": "ignored", "reason": "not a TaskRun event"}),
    Outcome.UNMATCHED: (202, {"action": "ignored", "reason": "no live run or registered app"}),
    Outcome.DUPLICATE: (200, {"action": "duplicate"}),
    Outcome.ACCEPTED: (202, {"action": "accepted"}),
}


@routes.post("/cloudevents")
@routes.post("/cloudevents/{secret}")
async def receive(request: web.Request) -> web.Response:
    settings, events = request.app[SETTINGS], request.app[EVENTS]
    if not _sink_path_allowed(request, reveal(settings.events_path_secret)):
        return problem(404, "not_found", "no such route")
    body = await read_body(request, limit=settings.max_event_bytes)
    if body is None:
        events.rejected()
        return problem(413, "too_large", f"the event is larger than {settings.max_event_bytes} bytes")
    try:
        parsed = parse_event(dict(request.headers), body)
    except (ValueError, ValidationError) as error:
        events.rejected()
        return problem(400, "invalid_event", str(error)[:500])
    status, answer = ANSWERS[await events.receive(parsed)]
    return web.json_response(answer, status=status)
