"""GET /runs/{id}/logs: a run step's container logs as text/plain, read through the API server."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from ..chain.context import ChainContext
from ..chain.logs.sources import LogsUnavailable, PodLogs, locate
from ..chain.logs.streaming import LogCopy
from ..kube import KubeError
from ..models.api import LogsQuery
from ..models.runs import Run, StepName
from .keys import CONTEXT, LOG_FOLLOWS, SETTINGS
from .problems import invalid, problem
from .runs import run_or_404

routes = web.RouteTableDef()
RETRY_FOLLOW_SECONDS = 5


def client_alive(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


@routes.get("/runs/{run_id}/logs")
async def run_logs(request: web.Request) -> web.StreamResponse:
    try:
        query = LogsQuery.model_validate(dict(request.query))
    except ValidationError as error:
        return invalid(error, status=400)
    run = await run_or_404(request)
    if isinstance(run, web.Response):
        return run
    if not query.following:
        return await _serve(request, run, StepName(query.step), follow=False)
    slots = request.app[LOG_FOLLOWS]
    if not slots.take():
        busy = problem(429, "too_many_follows",
                       f"{slots.limit} log follows are open, the most this runner holds "
                       "(TEKTON_RUNNER_LOGS_MAX_FOLLOWS); read without follow=1 or try again later")
        busy.headers["Retry-After"] = str(RETRY_FOLLOW_SECONDS)
        return busy
    try:
        return await _serve(request, run, StepName(query.step), follow=True)
    finally:
        slots.give_back()


async def _serve(request: web.Request, run: Run, step: StepName, *, follow: bool) -> web.StreamResponse:
    ctx, settings = request.app[CONTEXT], request.app[SETTINGS]
    deadline = ctx.clock.monotonic() + settings.logs_follow_timeout
    pods = await _wait_for_pods(request, ctx, run, step, follow=follow, deadline=deadline)
    if isinstance(pods, web.Response):
        return pods
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store",
                                           "X-Content-Type-Options": "nosniff"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    copy = LogCopy(response.write, follow=follow, max_bytes=settings.logs_max_bytes,
                   poll_interval=settings.poll_interval, clock=ctx.clock)
    await copy.run(pods, alive=lambda: client_alive(request), deadline=deadline)
    if client_alive(request):
        await response.write_eof()
    return response


async def _wait_for_pods(
    request: web.Request, ctx: ChainContext, run: Run, step: StepName, *, follow: bool, deadline: float,
) -> list[PodLogs] | web.Response:
    """The step's pods; a follower waits (re-reading the run) for pods that may still come."""
    while True:
        try:
            return await locate(ctx, run, step)
        except LogsUnavailable as unavailable:
            waiting = follow and unavailable.may_come and ctx.clock.monotonic() < deadline
            if not waiting or not client_alive(request):
                return problem(unavailable.status, unavailable.error, unavailable.message)
        except KubeError as error:
            return problem(502, "kube_unavailable", f"the Kubernetes API server could not be read: {error.message}")
        await ctx.clock.sleep(request.app[SETTINGS].poll_interval)
        run = await ctx.runs.get(run.id)
