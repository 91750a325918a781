"""The build phase after the request: judge the run's TaskRun from what the API server says."""

from __future__ import annotations

import logging

from ...kube import NotFound
from ...models.ids import taskrun_name
from ...models.runs import Run, RunState, StepName, StepState
from ...models.taskruns import Outcome, TaskRunView
from ...registry import RegistryError
from ..context import ChainContext
from .failure import failure_message

log = logging.getLogger("tekton_runner.build")


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

    `view` is the API server's object, already checked to be this run's build (trust.py); the
    reasons and messages shown to users are Tekton's, as the API server holds them.
    """
    if run.state not in (RunState.PENDING, RunState.BUILDING):
        return False  # already decided: duplicates and late events change nothing
    step = run.step(StepName.BUILD)
    if run.state is RunState.PENDING:  # the TaskRun exists, so the request got through
        step = step.model_copy(update={"state": StepState.RUNNING, "reason": "Started",
                                       "started_at": step.started_at or ctx.clock.now(), "attempts": 1})
        await ctx.status.build_accepted(run.id, None, step)
    await ctx.status.build_seen(run, taskrun_uid=view.metadata.uid or None, digest=view.digest)
    outcome = view.outcome
    condition = view.succeeded_condition
    if outcome is Outcome.RUNNING:
        if condition:
            await ctx.status.step_progress(run.id, step, reason=condition.reason, message=condition.message)
        return False
    if outcome is Outcome.FAILED:
        assert condition is not None
        message = await failure_message(ctx, view, condition.message)
        await ctx.status.build_failed(run, reason=condition.reason or "Failed", message=message)
        return False
    digest = view.digest or await _digest_from_registry(ctx, run)
    if digest and not view.digest:
        await ctx.status.build_seen(run, taskrun_uid=None, digest=digest)
    message = f"pushed {run.image}" + (f" ({digest})" if digest else " (no digest known: deploying by tag)")
    return await ctx.status.build_succeeded(run, step, message)


async def _digest_from_registry(ctx: ChainContext, run: Run) -> str | None:
    """Asks the registry when the build reported no digest (results can be missing from Tekton's data)."""
    if ctx.registry is None:
        return None
    try:
        return await ctx.registry.digest(run.image)
    except RegistryError as error:
        log.warning("run %s: no digest from the build or the registry: %s", run.id, error)
        return None

