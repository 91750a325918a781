"""POST /apps, GET /apps, GET /apps/{id}, DELETE /apps/{id}: parsed here, carried out by service/apps.py."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..models.api import AppDeleted, AppLinks, AppList, AppView
from ..models.apps import TRIGGER_PREFIX, AppRegistration, RegisteredApp
from .keys import APPS, SETTINGS
from .problems import invalid, read_json
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
    body = await read_json(request, limit=request.app[SETTINGS].max_request_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        registration = AppRegistration.model_validate(body)
    except ValidationError as error:
        return invalid(error)
    app, created = await request.app[APPS].register_app(registration)
    return answer(app_view(app), status=201 if created else 200, headers={"Location": f"/apps/{app.id}"})


@routes.get("/apps")
async def list_apps(request: web.Request) -> web.Response:
    return answer(AppList(apps=[app_view(app) for app in await request.app[APPS].apps()]))


@routes.get("/apps/{app_id}")
async def get_app(request: web.Request) -> web.Response:
    return answer(app_view(await request.app[APPS].app(request.match_info["app_id"])))


@routes.delete("/apps/{app_id}")
async def delete_app(request: web.Request) -> web.Response:
    app_id = request.match_info["app_id"]
    await request.app[APPS].unregister_app(app_id)
    return answer(AppDeleted(id=app_id, deleted=True))
