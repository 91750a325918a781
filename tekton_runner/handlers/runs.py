"""POST /run, GET /runs, GET /runs/{id}, DELETE /runs/{id}."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from ..models.api import RunList, RunsQuery
from ..models.ids import RunId, is_run_id, new_run_id
from ..models.images import default_repository
from ..models.runs import Run, RunState
from ..models.spec import LocalSource, RunSpec, ZipSource
from ..store.runs import DuplicateRequest, RunNotFound
from .archives import PackError, pack_directory
from .keys import CONTEXT, FORWARD_VIEW, ORCHESTRATOR, SETTINGS
from .problems import header_text, invalid, invalid_field, problem, read_json
from .views import answer, run_view

routes = web.RouteTableDef()


def image_reference(spec: RunSpec, run_id: RunId, registry: str) -> str:
    repository = spec.image.repository or default_repository(registry, spec.workspace, spec.app.name)
    return f"{repository}:{spec.image.tag or run_id}"


def _within(path: Path, roots: tuple[Path, ...]) -> bool:
    resolved = path.resolve()
    return any(resolved == root.resolve() or root.resolve() in resolved.parents for root in roots)


@routes.post("/run")
async def create_run(request: web.Request) -> web.Response:
    settings, ctx = request.app[SETTINGS], request.app[CONTEXT]
    body = await read_json(request, limit=settings.max_request_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        spec = RunSpec.model_validate(body)
    except ValidationError as error:
        return invalid(error)
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if not 1 <= len(key) <= 255 or not header_text(key):
            return invalid_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
        if (earlier := await ctx.runs.find_by_key(key)) is not None:
            return _replay(earlier, spec)
    run_id = new_run_id()
    source = spec.source
    if isinstance(source, ZipSource) and await ctx.uploads.get(source.upload_id) is None:
        return invalid_field("source.upload_id", f"no upload {source.upload_id}; POST the zip to /sources first")
    if isinstance(source, LocalSource):
        inside = await asyncio.to_thread(_within, Path(source.path), settings.local_roots)
        if not settings.local_roots or not inside:
            roots = ", ".join(str(root) for root in settings.local_roots) or "none configured"
            return invalid_field("source.path", f"must be a directory under an allowed root ({roots})")
    if (conflict := await port_conflict(request, spec.workspace, spec.app.name, spec.expose.external_port)):
        return conflict
    if isinstance(source, LocalSource):
        try:
            await asyncio.to_thread(pack_directory, Path(source.path), settings.packed_source(run_id),
                                    limit=settings.max_upload_bytes)
        except PackError as error:
            return invalid_field("source.path", str(error))
    try:
        run = await ctx.runs.create(run_id, spec, image_reference(spec, run_id, settings.registry),
                                    idempotency_key=key)
    except DuplicateRequest as duplicate:  # the same key raced in from another request
        return _replay(await ctx.runs.get(duplicate.run_id), spec)
    run = await request.app[ORCHESTRATOR].submit(run)
    return answer(run_view(run, brief=True), status=202, headers={"Location": f"/runs/{run.id}"})


async def port_conflict(request: web.Request, workspace: str, app: str, requested: int | None) -> web.Response | None:
    """A 409 when the requested external port is another app's, or held by another process here."""
    if requested is None:
        return None
    owner = next((m for m in await request.app[CONTEXT].ports.all() if m.port == requested), None)
    if owner is not None and (owner.workspace, owner.app) != (workspace, app):
        return problem(409, "port_taken", f"external port {requested} is already mapped to {owner.owner}",
                       fields=[{"field": "expose.external_port", "reason": f"taken by {owner.owner}"}])
    if owner is None and not await request.app[FORWARD_VIEW].can_bind(requested):
        return problem(409, "port_taken", f"external port {requested} is held by another process on this host",
                       fields=[{"field": "expose.external_port", "reason": "held by another process"}])
    return None


def _replay(earlier: Run, spec: RunSpec) -> web.Response:
    """A retried POST with the same Idempotency-Key gets the run it created, never a second one."""
    if earlier.spec != spec:
        return problem(409, "idempotency_key_reused",
                       f"Idempotency-Key was used for run {earlier.id} with a different request")
    return answer(run_view(earlier, brief=True), status=200, headers={"Location": f"/runs/{earlier.id}"})


async def run_or_404(request: web.Request) -> Run | web.Response:
    run_id = request.match_info["run_id"]
    if not is_run_id(run_id):
        return problem(404, "not_found", f"no run {run_id!r}")
    try:
        return await request.app[CONTEXT].runs.get(run_id)
    except RunNotFound:
        return problem(404, "not_found", f"no run {run_id!r}")


@routes.get("/runs")
async def list_runs(request: web.Request) -> web.Response:
    try:
        query = RunsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error)
    states = [RunState(value) for value in query.state.split(",")] if query.state else []
    limit = min(max(query.limit if query.limit is not None else 100, 1), 1000)
    runs = await request.app[CONTEXT].runs.list(states=states, workspace=query.workspace, app=query.app, limit=limit)
    return answer(RunList(runs=[run_view(run, brief=True) for run in runs]))


@routes.get("/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    run = await run_or_404(request)
    if isinstance(run, web.Response):
        return run
    return answer(run_view(run))


@routes.delete("/runs/{run_id}")
async def delete_run(request: web.Request) -> web.Response:
    run = await run_or_404(request)
    if isinstance(run, web.Response):
        return run
    deleted = await request.app[ORCHESTRATOR].delete(run.id)
    return answer(run_view(deleted))
