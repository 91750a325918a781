"""GET /healthz, /readyz, /metrics and /openapi.json."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..models.api import Health, Readiness
from .keys import ENDPOINTS, HEALTH, REGISTRY, SETTINGS
from .openapi import openapi_document
from .views import answer

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return answer(Health(status="ok", role=request.app[HEALTH].role))


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers and the Kubernetes API server is reachable."""
    checks = await request.app[HEALTH].checks()
    ready = all(value == "ok" for value in checks.values())
    return answer(Readiness(ready=ready, checks=checks, role=request.app[HEALTH].role), status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    await request.app[ENDPOINTS].refresh_counters()  # DNAT counters live in nft: read them before the scrape
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(secured=bool(request.app[SETTINGS].token)))
