"""POST /apps, GET /apps, GET /apps/{id}, DELETE /apps/{id}: apps deployed on every push to a branch."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from ..chain import registering
from ..kube import KubeError
from ..models.apps import TRIGGER_PREFIX, AppRegistration, RegisteredApp
from .keys import CONTEXT, SETTINGS
from .problems import invalid, problem, read_json
from .runs import port_conflict

routes = web.RouteTableDef()


def app_view(app: RegisteredApp) -> dict[str, Any]:
    registration = app.registration
    return {
        "id": app.id,
        "workspace": registration.workspace,
        "app": registration.app.name,
        "repository": registration.source.url,
        "branch": registration.source.branch,
        "image_repository": app.image_repository,
        "trigger": TRIGGER_PREFIX + app.id,
        "registration": registration.model_dump(mode="json"),
        "created_at": app.created_at.isoformat(),
        "updated_at": app.updated_at.isoformat(),
        "links": {"self": f"/apps/{app.id}", "runs": f"/runs?workspace={registration.workspace}"
                  f"&app={registration.app.name}"},
    }


@routes.post("/apps")
async def register_app(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await read_json(request, limit=request.app[SETTINGS].max_request_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        registration = AppRegistration.model_validate(body)
    except ValidationError as error:
        return invalid(error)
    workspace, name = registration.workspace, registration.app.name
    if (conflict := await port_conflict(request, workspace, name, registration.expose.external_port)):
        return conflict
    try:
        app, created = await registering.register(ctx, registration)
    except KubeError as error:
        return problem(502, "trigger_not_applied", f"the webhook Trigger could not be applied: {error.message}")
    return web.json_response(app_view(app), status=201 if created else 200,
                             headers={"Location": f"/apps/{app.id}"})


@routes.get("/apps")
async def list_apps(request: web.Request) -> web.Response:
    return web.json_response({"apps": [app_view(app) for app in await request.app[CONTEXT].apps.all()]})


@routes.get("/apps/{app_id}")
async def get_app(request: web.Request) -> web.Response:
    app = await request.app[CONTEXT].apps.get(request.match_info["app_id"])
    if app is None:
        return problem(404, "not_found", f"no app {request.match_info['app_id']!r}")
    return web.json_response(app_view(app))


@routes.delete("/apps/{app_id}")
async def delete_app(request: web.Request) -> web.Response:
    ctx, app_id = request.app[CONTEXT], request.match_info["app_id"]
    if await ctx.apps.get(app_id) is None:
        return problem(404, "not_found", f"no app {app_id!r}")
    try:
        await registering.unregister(ctx, app_id)
    except KubeError as error:
        return problem(502, "trigger_not_deleted", f"the webhook Trigger could not be deleted: {error.message}")
    return web.json_response({"id": app_id, "deleted": True})
