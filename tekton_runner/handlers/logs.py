"""GET /runs/{id}/logs: a run step's container logs as text/plain, read through the API server (service/logs.py)."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..models.api import LogsQuery
from ..models.runs import StepName
from .keys import LOGS
from .problems import invalid

routes = web.RouteTableDef()


def client_alive(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


@routes.get("/runs/{run_id}/logs")
async def run_logs(request: web.Request) -> web.StreamResponse:
    try:
        query = LogsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error, status=400)
    stream = await request.app[LOGS].open(request.match_info["run_id"], StepName(query.step), follow=query.following,
                                          alive=lambda: client_alive(request))
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8",
                                               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await stream.copy(response.write, alive=lambda: client_alive(request))
    finally:
        stream.close()
    if client_alive(request):
        await response.write_eof()
    return response
