"""The post-build chain: dependency, migration, app, forward, resumed from the first unfinished step."""

from __future__ import annotations

from functools import partial

from ...models.ids import RunId
from ...models.locks import KeyedLocks
from ...models.logcontext import bind, bind_run
from ...models.runs import CHAIN_STEPS, RunState, StepState
from ..context import ChainContext
from ..steps import STEPS
from .executor import execute

# One chain at a time per workspace app, so two runs of one app never interleave their applies.
AppLocks = KeyedLocks[tuple[str, str]]


async def run_chain(ctx: ChainContext, run_id: RunId, locks: AppLocks) -> None:
    run = await ctx.runs.get(run_id)
    with bind_run(run):
        async with locks.hold((run.workspace, run.app)):
            ctx.metrics.chains_active.inc()
            try:
                await _steps(ctx, run_id)
            finally:
                ctx.metrics.chains_active.dec()


async def _steps(ctx: ChainContext, run_id: RunId) -> None:
    for name in CHAIN_STEPS:
        run = await ctx.runs.get(run_id)
        if run.state is not RunState.DEPLOYING:
            return  # ended elsewhere (deleted, or finished by an earlier chain)
        if run.step(name).state in (StepState.SUCCEEDED, StepState.SKIPPED):
            continue  # done before a restart: idempotent steps are not re-run once finished
        with bind(step=name.value):
            step = await ctx.recorder.step_started(run, name)
            ended = await execute(run, step, partial(STEPS[name], ctx), recorder=ctx.recorder,
                                  policy=ctx.retry, clock=ctx.clock)
        if ended.state is StepState.FAILED:
            await ctx.recorder.run_ended(run_id, RunState.FAILED, reason=f"{name.value}:{ended.reason}",
                                         message=ended.message)
            return
    run = await ctx.runs.get(run_id)
    where = run.endpoint.external if run.endpoint and run.endpoint.external else "no external port"
    await ctx.recorder.run_ended(run_id, RunState.SUCCEEDED, reason="Deployed", message=f"reachable at {where}")
