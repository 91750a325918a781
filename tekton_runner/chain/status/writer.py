"""The one writer of run and step status: a method per transition, each stored, counted, logged and published.

Nothing else imports the store's write side (an import-linter contract in pyproject.toml). Each method
compares before and after: a transition that changes nothing is neither stored twice nor published.
"""

from __future__ import annotations

import logging
from datetime import datetime

from ...models.clock import SYSTEM_CLOCK, Clock
from ...models.ids import EventId, RunId
from ...models.progress import Progress, Subject
from ...models.runs import Endpoint, Run, RunState, Step, StepName, StepState
from ...models.spec import RunSpec
from ...store.database import Database
from ...store.run_writes import RunWrites
from ...store.runs import RunExists, RunStore
from ..runtime.outcomes import StepOutcome
from .hub import ProgressHub
from .metrics import Metrics

log = logging.getLogger("tekton_runner.runs")
LIVE = (RunState.PENDING, RunState.BUILDING, RunState.DEPLOYING)


class StatusWriter:
    def __init__(self, database: Database, metrics: Metrics, clock: Clock = SYSTEM_CLOCK,
                 hub: ProgressHub | None = None) -> None:
        self._writes = RunWrites(database)
        self._runs = RunStore(database)
        self.metrics = metrics
        self.clock = clock
        self.hub = hub if hub is not None else ProgressHub()  # an empty hub is falsy (it has a length)

    # Runs coming into being.

    async def run_created(self, run_id: RunId, spec: RunSpec, image: str, *,
                          idempotency_key: str | None = None) -> Run:
        """A run requested through the API, stored with its first transition in one transaction (requests
        arriving together share it); raises DuplicateRequest when the key was used before."""
        run, created = await self._writes.create(
            run_id, spec, image, idempotency_key=idempotency_key,
            progress=self._run_progress(run_id, RunState.PENDING, "Created", f"image {image}"))
        self._published(created)
        return run

    async def push_recorded(self, run_id: RunId, spec: RunSpec, image: str, build: Step) -> bool:
        """A git-push build seen for the first time becomes a building run; False when it was recorded already."""
        try:
            _, pushed = await self._writes.create(
                run_id, spec, image, pushed=True,
                progress=self._run_progress(run_id, RunState.PENDING, "Pushed", f"image {image}"))
        except RunExists:
            return False
        self._published(pushed)
        await self.build_accepted(run_id, None, build)
        return True

    async def run_redeployed(self, run_id: RunId, source: Run, *, idempotency_key: str | None = None) -> Run:
        """A new run deploying `source`'s digest-pinned image again: no build, straight to DEPLOYING.

        Raises DuplicateRequest when the key was used before. The caller starts the chain."""
        message = f"redeploy of run {source.id}: {source.pinned_image}"
        now = self.clock.now()
        build = Step(name=StepName.BUILD, state=StepState.SKIPPED, reason="Redeploy", message=message,
                     started_at=now, finished_at=now)
        run = await self._writes.create_redeploy(run_id, source, build, idempotency_key=idempotency_key)
        self.metrics.stage_total.labels(StepName.BUILD.value, StepState.SKIPPED.value).inc()
        log.info("run %s: redeploy of run %s (%s)", run_id, source.id, source.pinned_image)
        await self._publish_step(run_id, build)
        await self._publish_run(run_id, RunState.DEPLOYING, "Redeploy", message)
        return run

    # The build.

    async def build_requeued(self, run_id: RunId, *, reason: str, message: str) -> None:
        """The build request could not be delivered yet; the run stays pending and says why."""
        await self._writes.note(run_id, reason=reason, message=message)
        await self._publish_run(run_id, RunState.PENDING, reason, message)

    async def build_accepted(self, run_id: RunId, event_id: EventId | None, build: Step) -> bool:
        """PENDING -> BUILDING with the build step running; False when the run had left PENDING."""
        entries = await self._writes.accept(run_id, event_id, build, (
            self._run_progress(run_id, RunState.BUILDING, build.reason, build.message),
            self._step_progress(run_id, build)))
        if entries is None:
            return False
        for entry in entries:
            self._published(entry)
        return True

    async def build_seen(self, run: Run, *, taskrun_uid: str | None, digest: str | None) -> None:
        """What the API server's TaskRun says about itself: its uid (first seen) and the digest it reported."""
        if (taskrun_uid and not run.taskrun_uid) or (digest and digest != run.digest):
            await self._writes.record_build(run.id, taskrun_uid=taskrun_uid, digest=digest)

    async def build_succeeded(self, run: Run, step: Step, message: str) -> bool:
        """The build step ends and the run moves to DEPLOYING; True only for the caller that moved it."""
        await self.step_ended(run.id, step, StepOutcome.done("Succeeded", message))
        moved = await self._writes.transition(run.id, allowed=(RunState.PENDING, RunState.BUILDING),
                                              to=RunState.DEPLOYING, reason="BuildSucceeded", message=message)
        if moved:
            await self._publish_run(run.id, RunState.DEPLOYING, "BuildSucceeded", message)
        return moved

    async def build_failed(self, run: Run, *, reason: str, message: str) -> None:
        await self.step_ended(run.id, run.step(StepName.BUILD), StepOutcome.failed(reason, message))
        await self.run_ended(run.id, RunState.FAILED, reason=f"build:{reason}", message=message)

    # Steps.

    async def step_started(self, run: Run, name: StepName) -> Step:
        previous = run.step(name)
        step = previous.model_copy(update={
            "state": StepState.RUNNING, "reason": "Started", "message": "",
            "started_at": previous.started_at or self.clock.now(), "finished_at": None,
            "attempts": previous.attempts + 1, "due_at": None,
        })
        await self._writes.save_step(run.id, step)
        log.info("run %s: %s started (attempt %d)", run.id, name, step.attempts)
        await self._publish_step(run.id, step)
        return step

    async def step_progress(self, run_id: RunId, step: Step, *, reason: str, message: str) -> Step:
        if (reason, message) == (step.reason, step.message):
            return step
        updated = step.model_copy(update={"reason": reason, "message": message})
        await self._writes.save_step(run_id, updated)
        await self._publish_step(run_id, updated)
        return updated

    async def step_waiting(self, run_id: RunId, step: Step, *, reason: str, message: str, due_at: datetime) -> Step:
        """The step is not there yet; it is looked at again at `due_at` (stored, so a restart keeps it)."""
        waiting = step.model_copy(update={"reason": reason, "message": message, "due_at": due_at})
        await self._writes.save_step(run_id, waiting)
        if (reason, message) != (step.reason, step.message):
            log.info("run %s: %s waiting (%s) %s", run_id, step.name, reason, message)
            await self._publish_step(run_id, waiting)
        return waiting

    async def step_retrying(self, run_id: RunId, step: Step, *, reason: str, message: str, due_at: datetime) -> Step:
        """An attempt failed and another is due at `due_at`; the attempt count goes up."""
        retrying = step.model_copy(update={"reason": reason, "message": message, "due_at": due_at,
                                           "attempts": step.attempts + 1})
        await self._writes.save_step(run_id, retrying)
        await self._publish_step(run_id, retrying)
        return retrying

    def count_error(self, stage: StepName, kind: str) -> None:
        """An error raised inside a step (temporary, kube, workspace or internal), whatever came of it."""
        self.metrics.step_errors_total.labels(stage.value, kind).inc()

    async def step_ended(self, run_id: RunId, step: Step, outcome: StepOutcome) -> Step:
        now = self.clock.now()
        ended = step.model_copy(update={
            "state": outcome.state, "reason": outcome.reason, "message": outcome.message,
            "started_at": step.started_at or now, "finished_at": now, "due_at": None,
        })
        await self._writes.save_step(run_id, ended)
        started = ended.started_at or now
        self.metrics.stage_total.labels(step.name.value, outcome.state.value).inc()
        if outcome.state is StepState.FAILED:
            self.metrics.failed(step.name.value, outcome.reason)
        self.metrics.stage_seconds.labels(step.name.value, outcome.state.value).observe(
            max(0.0, (now - started).total_seconds())
        )
        level = logging.WARNING if outcome.state is StepState.FAILED else logging.INFO
        log.log(level, "run %s: %s %s (%s) %s", run_id, step.name, outcome.state, outcome.reason, outcome.message)
        await self._publish_step(run_id, ended)
        return ended

    # Where the app is.

    async def endpoint_set(self, run_id: RunId, endpoint: Endpoint | None) -> None:
        await self._writes.set_endpoint(run_id, endpoint)

    # Runs ending.

    async def run_ended(self, run_id: RunId, state: RunState, *, reason: str = "", message: str = "") -> bool:
        """Moves a live run to its final state once; later callers get False and change nothing."""
        if not await self._writes.transition(run_id, allowed=LIVE, to=state, reason=reason, message=message):
            return False
        self.metrics.runs_total.labels(state.value).inc()
        level = logging.WARNING if state is RunState.FAILED else logging.INFO
        log.log(level, "run %s %s %s %s", run_id, state, reason, message)
        if state is RunState.FAILED:
            await self._skip_pending_steps(run_id, reason)
        await self._publish_run(run_id, state, reason, message)
        return True

    async def run_deleted(self, run_id: RunId, *, reason: str, message: str, even_if_deleted: bool = False) -> bool:
        """Any state -> DELETED; False when it was deleted already (True anyway with `even_if_deleted`)."""
        allowed = tuple(RunState) if even_if_deleted else tuple(s for s in RunState if s is not RunState.DELETED)
        if not await self._writes.transition(run_id, allowed=allowed, to=RunState.DELETED, reason=reason,
                                             message=message):
            return False
        await self._publish_run(run_id, RunState.DELETED, reason, message)
        return True

    async def _skip_pending_steps(self, run_id: RunId, reason: str) -> None:
        run = await self._runs.get(run_id)
        for step in run.steps:
            if step.state is StepState.PENDING:
                skipped = step.model_copy(update={"state": StepState.SKIPPED, "reason": "RunFailed", "message": reason})
                await self._writes.save_step(run_id, skipped)
                await self._publish_step(run_id, skipped)
            elif step.state is StepState.RUNNING:
                await self.step_ended(run_id, step, StepOutcome.failed("RunFailed", reason))

    async def _publish_run(self, run_id: RunId, state: RunState, reason: str, message: str) -> None:
        await self._publish(self._run_progress(run_id, state, reason, message))

    async def _publish_step(self, run_id: RunId, step: Step) -> None:
        await self._publish(self._step_progress(run_id, step))

    def _run_progress(self, run_id: RunId, state: RunState, reason: str, message: str) -> Progress:
        return Progress(run_id=run_id, at=self.clock.now(), subject=Subject.RUN, state=state.value, reason=reason,
                        message=message)

    def _step_progress(self, run_id: RunId, step: Step) -> Progress:
        return Progress(run_id=run_id, at=self.clock.now(), subject=Subject.STEP, step=step.name.value,
                        state=step.state.value, reason=step.reason, message=step.message)

    async def _publish(self, entry: Progress) -> None:
        self._published(await self._writes.append_progress(entry))

    def _published(self, entry: Progress | None) -> None:
        """A stored transition goes to this process's followers."""
        if entry is not None:
            self.hub.publish(entry)
