"""Readiness deadlines, retry back-off and stored timestamps follow the injected clock, so tests run on fake time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tekton_runner.chain.execution.executor import execute
from tekton_runner.chain.runtime.outcomes import PermanentError, StepOutcome, TemporaryError
from tekton_runner.chain.runtime.retry import RetryPolicy
from tekton_runner.chain.steps.readiness import deployment_ready, describe_deployment, wait_for
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run, RunState, Step, StepName
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Database
from tekton_runner.store.runs import RunStore
from tests.fakes.clock import FakeClock

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})
NOT_READY = {"metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": {"readyReplicas": 0}}


class StuckKube:
    """A cluster where the Deployment never becomes ready."""

    def __init__(self) -> None:
        self.reads = 0

    async def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
        self.reads += 1
        return NOT_READY


class Steps:
    """Records what the executor reports instead of writing a store."""

    async def step_progress(self, run_id: RunId, step: Step, *, reason: str, message: str) -> Step:
        return step.model_copy(update={"reason": reason, "message": message})

    async def step_ended(self, run_id: RunId, step: Step, outcome: StepOutcome) -> Step:
        return step.model_copy(update={"state": outcome.state, "reason": outcome.reason})


async def test_a_readiness_deadline_of_five_minutes_passes_on_fake_time() -> None:
    clock, kube = FakeClock(), StuckKube()
    with pytest.raises(PermanentError, match="not ready after 300s") as caught:
        await wait_for(kube, api_version="apps/v1", kind="Deployment", namespace="ws-demo", name="shop",  # type: ignore[arg-type]
                       probe=deployment_ready, timeout=300.0, interval=2.0, reason="AppNotReady",
                       describe=describe_deployment, clock=clock)
    assert caught.value.reason == "AppNotReady"
    assert kube.reads == 151 and clock.monotonic() == 300.0  # one read every 2 s from 0 to 300


async def test_temporary_failures_back_off_exponentially_on_the_clock() -> None:
    clock = FakeClock()
    run = Run(id=RunId("r-1"), spec=SPEC, state=RunState.DEPLOYING, image="harbor.test/library/demo-shop:r-1",
              created_at=clock.now(), updated_at=clock.now())
    calls = 0

    async def flaky(run: Run, step: Step) -> StepOutcome:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise TemporaryError("API server busy")
        return StepOutcome.done("Applied", "ok")

    ended = await execute(run, Step(name=StepName.APP), flaky, recorder=Steps(),  # type: ignore[arg-type]
                          policy=RetryPolicy(attempts=6, base_delay=1.0, max_delay=30.0), clock=clock)
    assert ended.reason == "Applied"
    assert clock.slept == [1.0, 2.0, 4.0]


async def test_stored_times_come_from_the_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    async with Database.open(tmp_path / "state.sqlite3", clock=clock) as database:
        runs = RunStore(database)
        created = await runs.create(RunId("r-1"), SPEC, "harbor.test/library/demo-shop:r-1")
        assert created.created_at == clock.now()
        clock.advance(90)
        await runs.transition(RunId("r-1"), allowed=(RunState.PENDING,), to=RunState.BUILDING,
                              reason="Accepted", message="")
        updated = await runs.get(RunId("r-1"))
        assert updated.updated_at - updated.created_at == timedelta(seconds=90)
