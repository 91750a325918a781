"""The one place run and step status changes: it writes the store, counts metrics and logs each change."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ...models.clock import SYSTEM_CLOCK, Clock
from ...models.ids import RunId
from ...models.runs import Run, RunState, Step, StepName, StepState
from ...store.runs import RunStore
from ..runtime.outcomes import StepOutcome
from .metrics import Metrics

log = logging.getLogger("tekton_runner.runs")


@dataclass(frozen=True)
class Recorder:
    runs: RunStore
    metrics: Metrics
    clock: Clock = SYSTEM_CLOCK

    async def step_started(self, run: Run, name: StepName) -> Step:
        previous = run.step(name)
        step = previous.model_copy(update={
            "state": StepState.RUNNING, "reason": "Started", "message": "",
            "started_at": previous.started_at or self.clock.now(), "finished_at": None,
            "attempts": previous.attempts + 1,
        })
        await self.runs.save_step(run.id, step)
        log.info("run %s: %s started (attempt %d)", run.id, name, step.attempts)
        return step

    async def step_progress(self, run_id: RunId, step: Step, *, reason: str, message: str) -> Step:
        updated = step.model_copy(update={"reason": reason, "message": message})
        await self.runs.save_step(run_id, updated)
        return updated

    async def step_ended(self, run_id: RunId, step: Step, outcome: StepOutcome) -> Step:
        now = self.clock.now()
        ended = step.model_copy(update={
            "state": outcome.state, "reason": outcome.reason, "message": outcome.message,
            "started_at": step.started_at or now, "finished_at": now,
        })
        await self.runs.save_step(run_id, ended)
        started = ended.started_at or now
        self.metrics.stage_total.labels(step.name.value, outcome.state.value).inc()
        if outcome.state is StepState.FAILED:
            self.metrics.failed(step.name.value, outcome.reason)
        self.metrics.stage_seconds.labels(step.name.value, outcome.state.value).observe(
            max(0.0, (now - started).total_seconds())
        )
        level = logging.WARNING if outcome.state is StepState.FAILED else logging.INFO
        log.log(level, "run %s: %s %s (%s) %s", run_id, step.name, outcome.state, outcome.reason, outcome.message)
        return ended

    async def run_ended(self, run_id: RunId, state: RunState, *, reason: str = "", message: str = "") -> bool:
        """Moves a live run to its final state once; later callers get False and change nothing."""
        live = (RunState.PENDING, RunState.BUILDING, RunState.DEPLOYING)
        if not await self.runs.transition(run_id, allowed=live, to=state, reason=reason, message=message):
            return False
        self.metrics.runs_total.labels(state.value).inc()
        level = logging.WARNING if state is RunState.FAILED else logging.INFO
        log.log(level, "run %s %s %s %s", run_id, state, reason, message)
        if state is RunState.FAILED:
            await self._skip_pending_steps(run_id, reason)
        return True

    async def _skip_pending_steps(self, run_id: RunId, reason: str) -> None:
        run = await self.runs.get(run_id)
        for step in run.steps:
            if step.state is StepState.PENDING:
                await self.runs.save_step(run_id, step.model_copy(update={
                    "state": StepState.SKIPPED, "reason": "RunFailed", "message": reason,
                }))
            elif step.state is StepState.RUNNING:
                await self.step_ended(run_id, step, StepOutcome.failed("RunFailed", reason))
