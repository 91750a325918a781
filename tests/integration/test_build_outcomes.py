"""How the build's end decides the run: failures deploy nothing; an accepted request must yield a TaskRun."""

from __future__ import annotations

from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec


async def test_failed_build_fails_run_and_deploys_nothing(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.finish_taskrun(run_id, succeeded=False, reason="StepFailed", message="kaniko exited 1")
    await harness.send_event(taskrun, "failed")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "failed"
    assert run["reason"] == "build:StepFailed"
    steps = {step["name"]: step for step in run["steps"]}
    assert steps["build"]["state"] == "failed" and "kaniko exited 1" in steps["build"]["message"]
    assert all(steps[name]["state"] == "skipped" for name in ("dependency", "migration", "app", "forward"))
    assert harness.fake.applies() == []


async def test_accepted_request_without_taskrun_fails_after_timeout(harness: Harness) -> None:
    harness.listener.create_taskruns = False  # the EventListener answered 202 but its template failed
    await harness.stop()
    harness.clock = clock = FakeClock()
    await harness.start(taskrun_appear_timeout=120.0)
    run_id = (await harness.post_run(spec()))["run_id"]
    clock.advance(119)
    await harness.orchestrator.resync()
    assert (await harness.run(run_id))["state"] == "building"  # Tekton may still be creating it
    clock.advance(2)
    await harness.orchestrator.resync()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "build:TaskRunNotCreated"
    assert run["event_id"] in run["message"]


async def test_eventlistener_down_keeps_run_then_sends_it_once_it_is_back(harness: Harness) -> None:
    harness.listener.status = 503
    accepted = await harness.post_run(spec())
    assert accepted["state"] == "pending"
    run = await harness.run(accepted["run_id"])
    assert run["reason"] == "EventListenerUnavailable"
    harness.listener.status = 202
    await harness.orchestrator.resync()
    await harness.orchestrator.resync()  # a second pass must not send the request again
    run = await harness.run(accepted["run_id"])
    assert run["state"] == "building" and run["event_id"]
    ids = {headers["Ce-Id"] for headers, _ in harness.listener.received}
    assert ids == {accepted["run_id"]} and len(harness.listener.received) == 2
    assert len(harness.fake.objects("taskruns")) == 1


async def test_eventlistener_down_past_the_deadline_fails_the_run(harness: Harness) -> None:
    harness.listener.status = 503
    await harness.stop()
    harness.clock = clock = FakeClock()
    await harness.start(dispatch_deadline=600.0)
    run_id = (await harness.post_run(spec()))["run_id"]
    clock.advance(599)
    await harness.orchestrator.resync()
    assert (await harness.run(run_id))["state"] == "pending"  # re-sent until the deadline
    clock.advance(2)
    await harness.orchestrator.resync()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "build:EventListenerUnavailable"


async def test_rejected_request_fails_the_run_with_the_listener_answer(harness: Harness) -> None:
    harness.listener.status = 400
    run_id = (await harness.post_run(spec()))["run_id"]
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "build:BuildRequestRejected"
