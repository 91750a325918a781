"""Waiting, retry back-off and give-up follow the injected clock and are stored on the step row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from tekton_runner.chain.execution.executor import StepFunction, advance
from tekton_runner.chain.runtime.outcomes import StepOutcome, TemporaryError
from tekton_runner.chain.runtime.retry import RetryPolicy
from tekton_runner.chain.status.metrics import Metrics
from tekton_runner.chain.status.writer import StatusWriter
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run, RunState, Step, StepName, StepState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Database
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import RunStore
from tekton_runner.store.sqlite import SqliteDatabase
from tests.fakes.clock import FakeClock

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})
POLICY = RetryPolicy(attempts=6, base_delay=1.0, max_delay=30.0)


class Stage:
    """One stored run whose app step is driven pass by pass, as the chain does, on a fake clock."""

    def __init__(self, database: Database, clock: FakeClock) -> None:
        self.runs, self.clock = RunStore(database), clock
        self.registry = CollectorRegistry()
        self.writer = StatusWriter(database, Metrics.create(self.registry), clock)

    async def run(self) -> Run:
        return await self.runs.get(RunId("r-1"))

    def errors(self, kind: str) -> float:
        value = self.registry.get_sample_value("tekton_runner_step_errors_total", {"stage": "app", "kind": kind})
        return value or 0.0


@pytest_asyncio.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    clock = FakeClock()
    async with SqliteDatabase.open(tmp_path / "state.sqlite3", clock=clock) as database:
        writes = RunWrites(database)
        await writes.create(RunId("r-1"), SPEC, "harbor.test/library/demo-shop:r-1")
        await writes.transition(RunId("r-1"), allowed=(RunState.PENDING,), to=RunState.DEPLOYING)
        yield Stage(database, clock)


async def first_pass(stage: Stage, function: StepFunction) -> Step:
    step = await stage.writer.step_started(await stage.run(), StepName.APP)
    return await advance(await stage.run(), step, function, writer=stage.writer, policy=POLICY, clock=stage.clock,
                         timeout=300.0)


async def test_a_step_that_never_gets_ready_fails_after_five_minutes_of_fake_time(stage: Stage) -> None:
    reads = 0

    async def never_ready(run: Run, step: Step) -> StepOutcome:
        nonlocal reads
        reads += 1
        return StepOutcome.wait("AppNotReady", "Deployment ws-demo/shop: 0/1 replicas ready", delay=2.0)

    step = await first_pass(stage, never_ready)
    while step.state is StepState.RUNNING:
        assert step.due_at == stage.clock.now() + timedelta(seconds=2)  # stored, so a restart keeps it
        stage.clock.advance(2.0)
        step = await advance(await stage.run(), step, never_ready, writer=stage.writer, policy=POLICY,
                             clock=stage.clock, timeout=300.0)
    assert step.state is StepState.FAILED and step.reason == "AppNotReady"
    assert step.message == "not ready after 300s: Deployment ws-demo/shop: 0/1 replicas ready"
    assert reads == 151 and stage.clock.monotonic() == 300.0  # one read every 2 s from 0 to 300
    assert step.attempts == 1  # waiting is not failing: it uses up no attempts


async def test_temporary_failures_back_off_exponentially_on_the_stored_due_time(stage: Stage) -> None:
    calls = 0

    async def flaky(run: Run, step: Step) -> StepOutcome:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise TemporaryError("API server busy")
        return StepOutcome.done("Applied", "ok")

    step = await first_pass(stage, flaky)
    delays = []
    while step.state is StepState.RUNNING:
        assert step.due_at is not None
        delays.append((step.due_at - stage.clock.now()).total_seconds())
        stage.clock.advance(delays[-1])
        step = await advance(await stage.run(), step, flaky, writer=stage.writer, policy=POLICY, clock=stage.clock,
                             timeout=300.0)
    assert step.state is StepState.SUCCEEDED and step.reason == "Applied"
    assert delays == [1.0, 2.0, 4.0]
    assert step.attempts == 4 and step.due_at is None
    assert stage.errors("temporary") == 3


async def test_an_unexpected_exception_ends_the_step_as_internal_error_after_its_budget(stage: Stage) -> None:
    async def broken(run: Run, step: Step) -> StepOutcome:
        raise KeyError("spec")

    step = await first_pass(stage, broken)
    while step.state is StepState.RUNNING:
        assert step.reason == "InternalError" and "KeyError" in step.message
        assert step.due_at is not None
        stage.clock.advance((step.due_at - stage.clock.now()).total_seconds())
        step = await advance(await stage.run(), step, broken, writer=stage.writer, policy=POLICY, clock=stage.clock,
                             timeout=300.0)
    stored = (await stage.run()).step(StepName.APP)
    assert stored == step
    assert step.state is StepState.FAILED and step.reason == "InternalError"
    assert step.message == "gave up after 6 attempts: KeyError: 'spec'"
    assert stage.errors("internal") == 6


async def test_stored_times_come_from_the_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    async with SqliteDatabase.open(tmp_path / "state.sqlite3", clock=clock) as database:
        runs, writes = RunStore(database), RunWrites(database)
        created, _ = await writes.create(RunId("r-1"), SPEC, "harbor.test/library/demo-shop:r-1")
        assert created.created_at == clock.now()
        clock.advance(90)
        await writes.transition(RunId("r-1"), allowed=(RunState.PENDING,), to=RunState.BUILDING,
                              reason="Accepted", message="")
        updated = await runs.get(RunId("r-1"))
        assert updated.updated_at - updated.created_at == timedelta(seconds=90)


@pytest.mark.parametrize("attempts", [1, 3])
async def test_the_retry_budget_counts_every_attempt(stage: Stage, attempts: int) -> None:
    policy = RetryPolicy(attempts=attempts, base_delay=1.0, max_delay=30.0)

    async def always_busy(run: Run, step: Step) -> StepOutcome:
        raise TemporaryError("API server busy", reason="Busy")

    step = await stage.writer.step_started(await stage.run(), StepName.APP)
    passes = 0
    while step.state is not StepState.FAILED:
        passes += 1
        step = await advance(await stage.run(), step, always_busy, writer=stage.writer, policy=policy,
                             clock=stage.clock, timeout=300.0)
    assert passes == attempts and step.reason == "Busy"
