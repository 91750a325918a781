"""GET /workspaces and DELETE /workspaces/{name}, answered by service/workspaces.py."""

from __future__ import annotations

from aiohttp import web

from ..models.api import WorkspaceList
from .keys import WORKSPACES
from .views import answer

routes = web.RouteTableDef()


@routes.get("/workspaces")
async def list_workspaces(request: web.Request) -> web.Response:
    return answer(WorkspaceList(workspaces=await request.app[WORKSPACES].workspaces()))


@routes.delete("/workspaces/{name}")
async def delete_workspace(request: web.Request) -> web.Response:
    return answer(await request.app[WORKSPACES].delete_workspace(request.match_info["name"]))
