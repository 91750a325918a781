"""GET /endpoint and GET /external-map: parsed here, answered by service/endpoints.py."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..models.api import EndpointQuery
from .keys import ENDPOINTS
from .problems import invalid
from .views import answer

routes = web.RouteTableDef()


@routes.get("/endpoint")
async def endpoint(request: web.Request) -> web.Response:
    try:
        query = EndpointQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    return answer(await request.app[ENDPOINTS].endpoint(query.workspace, query.app))


@routes.get("/external-map")
async def external_map(request: web.Request) -> web.Response:
    return answer(await request.app[ENDPOINTS].external_map())
