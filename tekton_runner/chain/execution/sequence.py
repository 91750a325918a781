"""The post-build chain: dependency, migration, app, forward, advanced pass by pass from the stored steps.

A run's chain is driven by one task: it takes the app's lock first (runs of one app never interleave
their applies), then a slot for each pass only. Between passes, while a step waits for the cluster, it
holds no slot, so waiting runs never starve other apps. Each pass starts from the stored steps, so after
a restart the chain resumes at the first unfinished step, at that step's stored due time.
"""

from __future__ import annotations

from functools import partial

from ...models.ids import RunId
from ...models.locks import KeyedLocks
from ...models.logcontext import bind, bind_run
from ...models.runs import CHAIN_STEPS, RunState, StepState
from ..context import ChainContext
from ..runtime.scheduler import Scheduler
from ..steps import STEPS
from .executor import advance

# One chain at a time per workspace app, so two runs of one app never interleave their applies.
AppLocks = KeyedLocks[tuple[str, str]]


async def drive(ctx: ChainContext, run_id: RunId, locks: AppLocks, scheduler: Scheduler) -> None:
    """Advances the run's chain until it ends: the app lock first, then a slot for each pass."""
    run = await ctx.runs.get(run_id)
    with bind_run(run):
        async with locks.hold((run.workspace, run.app)):
            ctx.metrics.chains_active.inc()
            try:
                while True:
                    async with scheduler.slot():
                        delay = await chain_pass(ctx, run_id)
                    if delay is None:
                        return
                    with scheduler.resting():  # stopping the runner now loses nothing: the due time is stored
                        await ctx.clock.sleep(delay)
            finally:
                ctx.metrics.chains_active.dec()


async def chain_pass(ctx: ChainContext, run_id: RunId) -> float | None:
    """Advances the chain as far as it goes now; returns the seconds until it is due again, None once ended."""
    for name in CHAIN_STEPS:
        run = await ctx.runs.get(run_id)
        if run.state is not RunState.DEPLOYING:
            return None  # ended elsewhere (deleted, or finished by an earlier chain)
        step = run.step(name)
        if step.state in (StepState.SUCCEEDED, StepState.SKIPPED):
            continue  # done before a restart: idempotent steps are not re-run once finished
        if step.state is not StepState.FAILED:
            if step.due_at is not None and step.due_at > ctx.clock.now():
                return (step.due_at - ctx.clock.now()).total_seconds()
            with bind(step=name.value):
                if step.state is StepState.PENDING:
                    step = await ctx.status.step_started(run, name)
                step = await advance(run, step, partial(STEPS[name], ctx), writer=ctx.status, policy=ctx.retry,
                                     clock=ctx.clock, timeout=ctx.settings.ready_timeout)
            if step.state is StepState.RUNNING:
                due = step.due_at or ctx.clock.now()
                return max((due - ctx.clock.now()).total_seconds(), 0.0)
        if step.state is StepState.FAILED:
            await ctx.status.run_ended(run_id, RunState.FAILED, reason=f"{name.value}:{step.reason}",
                                       message=step.message)
            return None
    run = await ctx.runs.get(run_id)
    where = run.endpoint.external if run.endpoint and run.endpoint.external else "no external port"
    await ctx.status.run_ended(run_id, RunState.SUCCEEDED, reason="Deployed", message=f"reachable at {where}")
    return None
