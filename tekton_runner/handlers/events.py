"""POST /cloudevents: Tekton's TaskRun events, taken as hints to look at the API server, never as facts.

The sink has to be open (Tekton's events controller sends no credentials), so nothing in an event is
believed: an event for a live run, or for a registered app, makes the orchestrator read that run's
TaskRun from its own build namespace; everything it then does follows what the API server returned.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from pydantic import ValidationError

from ..models.ids import RunId
from ..models.runs import RunState
from ..models.settings import reveal
from ..models.taskruns import TASKRUN_EVENT_PREFIX, TaskRunEvent, TaskRunView
from ..store.runs import RunNotFound
from .keys import CONTEXT, ORCHESTRATOR, SETTINGS
from .problems import header_text, problem, read_body

log = logging.getLogger("tekton_runner.events")
routes = web.RouteTableDef()
LIVE = (RunState.PENDING, RunState.BUILDING)
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


def dedup_key(event: TaskRunEvent) -> str:
    """Same TaskRun, same type, same end: a re-send (which carries a fresh ce-id) is a duplicate."""
    view = event.taskrun
    condition = view.succeeded_condition
    ended = view.status.completion_time.isoformat() if view.status.completion_time else ""
    reason = condition.reason if condition else ""
    return f"{view.metadata.uid or view.metadata.namespace + '/' + view.metadata.name}:{event.type}:{ended}:{reason}"


def _sink_path_allowed(request: web.Request, secret: str | None) -> bool:
    given = request.match_info.get("secret")
    if secret is None:
        return given is None
    return given is not None and hmac.compare_digest(given.encode(), secret.encode())


@routes.post("/cloudevents")
@routes.post("/cloudevents/{secret}")
async def receive(request: web.Request) -> web.Response:
    settings, ctx = request.app[SETTINGS], request.app[CONTEXT]
    if not _sink_path_allowed(request, reveal(settings.events_path_secret)):
        return problem(404, "not_found", "no such route")
    body = await read_body(request, limit=settings.max_event_bytes)
    if body is None:
        ctx.metrics.events_total.labels("invalid", "rejected").inc()
        return problem(413, "too_large", f"the event is larger than {settings.max_event_bytes} bytes")
    try:
        parsed = parse_event(dict(request.headers), body)
    except (ValueError, ValidationError) as error:
        ctx.metrics.events_total.labels("invalid", "rejected").inc()
        return problem(400, "invalid_event", str(error)[:500])
    if parsed is None:
        ctx.metrics.events_total.labels("other", "ignored").inc()
        return web.json_response({"action": "ignored", "reason": "not a TaskRun event"}, status=202)
    subject = await _subject(request, parsed.taskrun)
    if subject is None:
        ctx.metrics.events_total.labels(parsed.kind, "unmatched").inc()
        return web.json_response({"action": "ignored", "reason": "no live run or registered app"}, status=202)
    if not await ctx.events.record_event(dedup_key(parsed), run_id=subject, ce_id=parsed.id[:200],
                                       type_=parsed.type[:200], keep=settings.events_per_subject):
        ctx.metrics.events_total.labels(parsed.kind, "duplicate").inc()
        return web.json_response({"action": "duplicate"}, status=200)
    ctx.metrics.events_total.labels(parsed.kind, "accepted").inc()
    orchestrator = request.app[ORCHESTRATOR]
    if parsed.taskrun.pushed and parsed.taskrun.app_id:
        orchestrator.look_at_app(parsed.taskrun.app_id)
    else:
        orchestrator.look_at_run(RunId(subject))
    log.debug("event %r (%s) makes the runner look at %s", parsed.id[:80], parsed.kind, subject)
    return web.json_response({"action": "accepted"}, status=202)


async def _subject(request: web.Request, view: TaskRunView) -> str | None:
    """What the event may make the runner look at: a live run or a registered app, named by its labels."""
    ctx = request.app[CONTEXT]
    if view.pushed and view.app_id:
        return f"app:{view.app_id}" if await ctx.apps.get(view.app_id) is not None else None
    run_id = view.run_id
    if not run_id:
        return None
    try:
        run = await ctx.runs.get(run_id)
    except RunNotFound:
        return None
    return run_id if run.state in LIVE else None
