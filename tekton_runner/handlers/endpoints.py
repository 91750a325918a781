"""GET /endpoint and GET /external-map: where users reach their apps, and whether it answers now."""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import ValidationError

from ..models.api import Address, EndpointQuery, EndpointView, ExternalAddress, ExternalMap, ExternalMapping
from .keys import CONTEXT, FORWARD_VIEW, SETTINGS
from .probing import reachable, split_address
from .problems import invalid, problem
from .views import answer

routes = web.RouteTableDef()


@routes.get("/endpoint")
async def endpoint(request: web.Request) -> web.Response:
    try:
        query = EndpointQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    workspace, app = query.workspace, query.app
    ctx, settings = request.app[CONTEXT], request.app[SETTINGS]
    run = await ctx.runs.latest_succeeded(workspace, app)
    mapping = await ctx.ports.get(workspace, app)
    if (run is None or run.endpoint is None) and mapping is None:
        return problem(404, "not_found", f"{workspace}/{app} has no deployed endpoint")
    host_local = run.endpoint.host_local if run and run.endpoint else None
    if host_local is None and mapping and mapping.target_host and mapping.target_port:
        host_local = f"{mapping.target_host}:{mapping.target_port}"
    external = f"{settings.public_host}:{mapping.port}" if mapping else None
    view = request.app[FORWARD_VIEW]
    checks = await asyncio.gather(_check(host_local), _check(view.check_address(mapping.port) if mapping else None))
    return answer(EndpointView(
        workspace=workspace, app=app, run_id=run.id if run else (mapping.run_id if mapping else None),
        host_local=Address(address=host_local, reachable=checks[0]),
        external=ExternalAddress(address=external, port=mapping.port if mapping else None, reachable=checks[1]),
    ))


async def _check(address: str | None) -> bool | None:
    if address is None:
        return None
    host, port = split_address(address)
    return await reachable(host, port)


@routes.get("/external-map")
async def external_map(request: web.Request) -> web.Response:
    ctx, settings, view = request.app[CONTEXT], request.app[SETTINGS], request.app[FORWARD_VIEW]
    await view.refresh()  # the kernel path's counters are read from nft, not kept in this process
    entries = []
    for mapping in await ctx.ports.all():
        target = f"{mapping.target_host}:{mapping.target_port}" if mapping.target_host else None
        entries.append(ExternalMapping(
            workspace=mapping.workspace, app=mapping.app, run_id=mapping.run_id, external_port=mapping.port,
            external=f"{settings.public_host}:{mapping.port}", target=target, updated_at=mapping.updated_at,
            **view.describe(mapping.port),
        ))
    return answer(ExternalMap(host=settings.public_host, mappings=entries))
