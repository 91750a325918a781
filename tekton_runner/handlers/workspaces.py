"""GET /workspaces and DELETE /workspaces/{name}."""

from __future__ import annotations

from aiohttp import web

from ..models.api import WorkspaceList, WorkspaceRemoved, WorkspaceView
from ..models.ids import DNS_LABEL_PATTERN
from ..models.runs import RunState
from .keys import CONTEXT, ORCHESTRATOR
from .problems import problem
from .views import answer

routes = web.RouteTableDef()


@routes.get("/workspaces")
async def list_workspaces(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ports = await ctx.ports.all()
    entries = []
    for target in await ctx.access.provisioner.list():
        runs = await ctx.runs.list(workspace=target.name, limit=1000)
        live = [run for run in runs if not run.state.terminal]
        last = max((run.updated_at for run in runs), default=None)
        entries.append(WorkspaceView(
            name=target.name, namespace=target.namespace, provisioner=target.provisioner,
            kubeconfig=str(target.kubeconfig) if target.kubeconfig else None,
            apps=sorted({run.app for run in runs if run.state is not RunState.DELETED}),
            live_runs=[run.id for run in live], last_activity=last,
            external_ports=[m.port for m in ports if m.workspace == target.name],
        ))
    return answer(WorkspaceList(workspaces=entries))


@routes.delete("/workspaces/{name}")
async def delete_workspace(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not DNS_LABEL_PATTERN.match(name) or len(name) > 40:
        return problem(404, "not_found", f"no workspace {name!r}")
    ctx = request.app[CONTEXT]
    known = {target.name for target in await ctx.access.provisioner.list()}
    if name not in known and not await ctx.runs.list(workspace=name, limit=1):
        return problem(404, "not_found", f"no workspace {name!r}")
    removed = await request.app[ORCHESTRATOR].delete_workspace(name)
    return answer(WorkspaceRemoved.model_validate(removed))
