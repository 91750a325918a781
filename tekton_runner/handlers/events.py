"""POST /cloudevents: Tekton's TaskRun events, recorded once and handed to the orchestrator."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from pydantic import ValidationError

from ..models.taskruns import TASKRUN_EVENT_PREFIX, TaskRunEvent, TaskRunView
from .keys import CONTEXT, ORCHESTRATOR, SETTINGS
from .problems import problem, read_body

log = logging.getLogger("tekton_runner.events")
routes = web.RouteTableDef()


def parse_event(headers: dict[str, str], body: bytes) -> TaskRunEvent | str:
    """A TaskRun event, or the reason the request is not one (an unknown type is not an error)."""
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except Exception as error:  # the SDK raises several unrelated types for malformed input
        raise ValueError(f"not a CloudEvent: {error}") from error
    attributes = event.get_attributes()
    type_ = str(attributes.get("type", ""))
    if not type_.startswith(TASKRUN_EVENT_PREFIX):
        return type_ or "(no type)"
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


@routes.post("/cloudevents")
async def receive(request: web.Request) -> web.Response:
    settings, ctx = request.app[SETTINGS], request.app[CONTEXT]
    body = await read_body(request, limit=settings.max_request_bytes * 8)
    if body is None:
        return problem(413, "too_large", "the event is too large")
    try:
        parsed = parse_event(dict(request.headers), body)
    except (ValueError, ValidationError) as error:
        ctx.metrics.events_total.labels("invalid", "rejected").inc()
        return problem(400, "invalid_event", str(error))
    if isinstance(parsed, str):
        ctx.metrics.events_total.labels(parsed[:80], "ignored").inc()
        return web.json_response({"action": "ignored", "type": parsed}, status=202)
    run_id = parsed.taskrun.run_id
    if not run_id:
        ctx.metrics.events_total.labels(parsed.type, "unmatched").inc()
        return web.json_response({"action": "ignored", "reason": "TaskRun has no run-id label"}, status=202)
    if not await ctx.runs.record_event(dedup_key(parsed), run_id=run_id, ce_id=parsed.id, type_=parsed.type):
        ctx.metrics.events_total.labels(parsed.type, "duplicate").inc()
        return web.json_response({"action": "duplicate", "run_id": run_id}, status=200)
    ctx.metrics.events_total.labels(parsed.type, "accepted").inc()
    orchestrator = request.app[ORCHESTRATOR]
    view = parsed.taskrun

    async def handle() -> None:
        action = await orchestrator.on_taskrun(view)
        log.info("event %s (%s) for run %s: %s", parsed.id, parsed.kind, run_id, action)

    orchestrator.scheduler.spawn(f"event:{parsed.id}:{dedup_key(parsed)}", handle, limited=False)
    return web.json_response({"action": "accepted", "run_id": run_id}, status=202)
