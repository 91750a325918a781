"""POST /apps, GET /apps, GET /apps/{id}, DELETE /apps/{id}: apps deployed on every push to a branch."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..chain.lifecycle.registration import register, unregister
from ..kube import KubeError
from ..models.api import AppDeleted, AppLinks, AppList, AppView
from ..models.apps import TRIGGER_PREFIX, AppRegistration, RegisteredApp
from .keys import CONTEXT, SETTINGS
from .problems import invalid, problem, read_json
from .runs import port_conflict
from .views import answer

routes = web.RouteTableDef()


def app_view(app: RegisteredApp) -> AppView:
    registration = app.registration
    return AppView(
        id=app.id, workspace=registration.workspace, app=registration.app.name,
        repository=registration.source.url, branch=registration.source.branch,
        image_repository=app.image_repository, trigger=TRIGGER_PREFIX + app.id,
        registration=registration, created_at=app.created_at, updated_at=app.updated_at,
        links=AppLinks.model_validate({
            "self": f"/apps/{app.id}",
            "runs": f"/runs?workspace={registration.workspace}&app={registration.app.name}",
        }),
    )


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
        app, created = await register(ctx, registration)
    except KubeError as error:
        return problem(502, "trigger_not_applied", f"the webhook Trigger could not be applied: {error.message}")
    return answer(app_view(app), status=201 if created else 200, headers={"Location": f"/apps/{app.id}"})


@routes.get("/apps")
async def list_apps(request: web.Request) -> web.Response:
    return answer(AppList(apps=[app_view(app) for app in await request.app[CONTEXT].apps.all()]))


@routes.get("/apps/{app_id}")
async def get_app(request: web.Request) -> web.Response:
    app = await request.app[CONTEXT].apps.get(request.match_info["app_id"])
    if app is None:
        return problem(404, "not_found", f"no app {request.match_info['app_id']!r}")
    return answer(app_view(app))


@routes.delete("/apps/{app_id}")
async def delete_app(request: web.Request) -> web.Response:
    ctx, app_id = request.app[CONTEXT], request.match_info["app_id"]
    if await ctx.apps.get(app_id) is None:
        return problem(404, "not_found", f"no app {app_id!r}")
    try:
        await unregister(ctx, app_id)
    except KubeError as error:
        return problem(502, "trigger_not_deleted", f"the webhook Trigger could not be deleted: {error.message}")
    return answer(AppDeleted(id=app_id, deleted=True))
