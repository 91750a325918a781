"""The build phase: send the request to Tekton, then judge the TaskRun from what the cluster says."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp

from ..kube import NotFound
from ..models.ids import taskrun_name
from ..models.runs import Run, RunState, StepName, StepState
from ..models.spec import LocalSource, ZipSource
from ..models.taskruns import Outcome, TaskRunView
from ..registry import RegistryError
from .context import ChainContext
from .dispatching import DispatchError, send_build_request
from .outcomes import StepOutcome

log = logging.getLogger("tekton_runner.build")


async def archive_url(ctx: ChainContext, run: Run) -> str:
    """A one-time download URL of the run's source zip; empty for git sources."""
    source = run.spec.source
    if isinstance(source, ZipSource):
        upload = await ctx.uploads.get(source.upload_id)
        if upload is None:
            raise DispatchError(f"upload {source.upload_id} no longer exists", temporary=False)
        path = upload.path
    elif isinstance(source, LocalSource):
        path = ctx.settings.packed_source(run.id)
    else:
        return ""
    token = await ctx.uploads.issue_token(run.id, path)
    return f"{ctx.settings.base_url}/sources/archive/{token}"


async def dispatch(ctx: ChainContext, session: aiohttp.ClientSession, run: Run) -> None:
    """One attempt to hand the build to Tekton; a temporary failure leaves the run pending for resync."""
    try:
        accepted = await send_build_request(
            session, ctx.settings.eventlistener_url, run, archive_url=await archive_url(ctx, run)
        )
    except DispatchError as error:
        expired = ctx.clock.now() - run.created_at > timedelta(seconds=ctx.settings.dispatch_deadline)
        if error.temporary and not expired:
            ctx.metrics.dispatch_total.labels("retry").inc()
            await ctx.runs.note(run.id, reason="EventListenerUnavailable", message=f"{error}; will retry")
            return
        ctx.metrics.dispatch_total.labels("failed").inc()
        reason = "EventListenerUnavailable" if error.temporary else "BuildRequestRejected"
        await fail_build(ctx, run, reason, str(error))
        return
    ctx.metrics.dispatch_total.labels("accepted").inc()
    build = run.step(StepName.BUILD).model_copy(update={
        "state": StepState.RUNNING, "reason": "Accepted", "started_at": ctx.clock.now(), "attempts": 1,
        "message": f"EventListener accepted the request (eventID {accepted.event_id})",
    })
    await ctx.runs.accept(run.id, accepted.event_id, build)


async def fail_build(ctx: ChainContext, run: Run, reason: str, message: str) -> None:
    step = run.step(StepName.BUILD)
    await ctx.recorder.step_ended(run.id, step, StepOutcome.failed(reason, message))
    await ctx.recorder.run_ended(run.id, RunState.FAILED, reason=f"build:{reason}", message=message)


async def read_build(ctx: ChainContext, run: Run) -> TaskRunView | None:
    """The run's own TaskRun, by its own name in the build namespace, as the API server has it now.

    None when it does not exist (yet); any other failure raises KubeError, and nothing else stands in
    for the API server's answer: the caller looks again later.
    """
    try:
        obj = await ctx.kube.get("tekton.dev/v1", "TaskRun", taskrun_name(run.id), ctx.settings.build_namespace)
    except NotFound:
        return None
    return TaskRunView.model_validate(obj)


async def observe(ctx: ChainContext, run: Run, view: TaskRunView) -> bool:
    """Applies what the TaskRun says to its run; True when the build just succeeded (start the chain).

    `view` is the API server's object, already checked to be this run's build (verifying.py); the
    reasons and messages shown to users are Tekton's, as the API server holds them.
    """
    if run.state not in (RunState.PENDING, RunState.BUILDING):
        return False  # already decided: duplicates and late events change nothing
    step = run.step(StepName.BUILD)
    if step.state is StepState.PENDING:
        step = step.model_copy(update={"state": StepState.RUNNING, "reason": "Started", "started_at": ctx.clock.now(),
                                       "attempts": 1})
        if run.state is not RunState.PENDING:
            await ctx.runs.save_step(run.id, step)
    if run.state is RunState.PENDING:  # the TaskRun exists, so the request got through
        await ctx.runs.accept(run.id, None, step)
    await ctx.runs.record_build(run.id, taskrun_uid=view.metadata.uid or None, digest=view.digest)
    outcome = view.outcome
    condition = view.succeeded_condition
    if outcome is Outcome.RUNNING:
        if condition and (condition.reason, condition.message) != (step.reason, step.message):
            await ctx.recorder.step_progress(run.id, step, reason=condition.reason, message=condition.message)
        return False
    if outcome is Outcome.FAILED:
        assert condition is not None
        await fail_build(ctx, run, condition.reason or "Failed", condition.message)
        return False
    digest = view.digest or await _digest_from_registry(ctx, run)
    if digest and not view.digest:
        await ctx.runs.record_build(run.id, taskrun_uid=None, digest=digest)
    message = f"pushed {run.image}" + (f" ({digest})" if digest else " (no digest known: deploying by tag)")
    await ctx.recorder.step_ended(run.id, step, StepOutcome.done("Succeeded", message))
    return await ctx.runs.transition(run.id, allowed=(RunState.PENDING, RunState.BUILDING),
                                     to=RunState.DEPLOYING, reason="BuildSucceeded", message=message)


async def _digest_from_registry(ctx: ChainContext, run: Run) -> str | None:
    """Asks the registry when the build reported no digest (results can be missing from Tekton's data)."""
    if ctx.registry is None:
        return None
    try:
        return await ctx.registry.digest(run.image)
    except RegistryError as error:
        log.warning("run %s: no digest from the build or the registry: %s", run.id, error)
        return None

