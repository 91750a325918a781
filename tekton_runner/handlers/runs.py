"""POST /run, GET /runs, GET /runs/{id}, DELETE /runs/{id}: parsed here, carried out by service/runs.py."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..models.api import RunList, RunsQuery
from ..models.spec import RunSpec
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
    key = request.headers.get("Idempotency-Key")
    if key is not None and (not 1 <= len(key) <= MAX_KEY_LENGTH or not header_text(key)):
        return invalid_field("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    submission = await request.app[RUNS].create_run(spec, key)
    run = submission.run
    return answer(run_view(run, brief=True), status=200 if submission.replayed else 202,
                  headers={"Location": f"/runs/{run.id}"})


@routes.get("/runs")
async def list_runs(request: web.Request) -> web.Response:
    try:
        query = RunsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    runs = await request.app[RUNS].list(query)
    return answer(RunList(runs=[run_view(run, brief=True) for run in runs]))


@routes.get("/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    return answer(run_view(await request.app[RUNS].get(request.match_info["run_id"])))


@routes.delete("/runs/{run_id}")
async def delete_run(request: web.Request) -> web.Response:
    return answer(run_view(await request.app[RUNS].delete(request.match_info["run_id"])))
