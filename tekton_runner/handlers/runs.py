"""POST /run, GET /runs, GET /runs/{id}, DELETE /runs/{id}, POST /runs/{id}/redeploy: parsed here,
carried out by service/runs.py."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..models.api import RunList, RunsQuery
from ..models.spec import RunSpec
from ..service.runs import Submission
from .keys import RUNS, SETTINGS
from .problems import header_text, invalid, invalid_field, read_json
from .views import answer, run_view

routes = web.RouteTableDef()
MAX_KEY_LENGTH = 255


@routes.post("/run")
async def create_run(request: web.Request) -> web.Response:
    body = await read_json(request, limit=request.app[SETTINGS].max_request_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        spec = RunSpec.model_validate(body)
    except ValidationError as error:
        return invalid(error)
    key = idempotency_key(request)
    if isinstance(key, web.Response):
        return key
    return submitted(await request.app[RUNS].create_run(spec, key))


@routes.post("/runs/{run_id}/redeploy")
async def redeploy_run(request: web.Request) -> web.Response:
    """The run's image again as a new run, without a build; no body is read."""
    key = idempotency_key(request)
    if isinstance(key, web.Response):
        return key
    return submitted(await request.app[RUNS].redeploy(request.match_info["run_id"], key))


def idempotency_key(request: web.Request) -> str | web.Response | None:
    """The Idempotency-Key header, None without one, or the 422 for one the runner cannot store."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and (not 1 <= len(key) <= MAX_KEY_LENGTH or not header_text(key)):
        return invalid_field("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    return key


def submitted(submission: Submission) -> web.Response:
    """202 with the new run, or 200 with the run an earlier request with the same key made."""
    run = submission.run
    return answer(run_view(run, brief=True), status=200 if submission.replayed else 202,
                  headers={"Location": f"/runs/{run.id}"})


@routes.get("/runs")
async def list_runs(request: web.Request) -> web.Response:
    try:
        query = RunsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    runs, following = await request.app[RUNS].list(query)
    return answer(RunList(runs=[run_view(run, brief=True) for run in runs],
                          next=following))


@routes.get("/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    return answer(run_view(await request.app[RUNS].get(request.match_info["run_id"])))


@routes.delete("/runs/{run_id}")
async def delete_run(request: web.Request) -> web.Response:
    return answer(run_view(await request.app[RUNS].delete(request.match_info["run_id"])))
