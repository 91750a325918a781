"""A burst the EventListener turns into TaskRuns more slowly than one appear timeout allows.

The stub EventListener answers at once but creates TaskRuns only as the test lets it (two per second of
fake time), as a real one throttled by its Kubernetes client does. Sixty runs take thirty seconds to get
their TaskRuns, three times the appear timeout; none may fail as TaskRunNotCreated.
"""

from __future__ import annotations

from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec

BURST, PER_SECOND, APPEAR_TIMEOUT = 60, 2, 10.0


async def _slow_listener(harness: Harness, **settings: object) -> FakeClock:
    harness.listener.backlog = []
    await harness.stop()
    harness.clock = clock = FakeClock()
    harness.fake.store.now = clock.now  # creationTimestamps on the same fake time
    await harness.start(taskrun_appear_timeout=APPEAR_TIMEOUT, dispatch_min_window=4, **settings)
    return clock


def _queued(harness: Harness, where: str) -> float:
    return harness.registry.get_sample_value("tekton_runner_dispatch_queue", {"where": where}) or 0.0


async def test_burst_longer_than_the_appear_timeout_builds_every_run(harness: Harness) -> None:
    clock = await _slow_listener(harness)
    run_ids = [(await harness.post_run(spec(app={"name": f"app{index}", "port": 8080})))["run_id"]
               for index in range(BURST)]
    last = await harness.run(run_ids[-1])
    assert last["state"] == "pending" and last["reason"] == "Queued"
    assert last["message"].startswith("queued behind ") and _queued(harness, "runner") > 0
    assert harness.listener.backlog is not None
    largest_backlog, seconds = len(harness.listener.backlog), 0
    while harness.listener.backlog or _queued(harness, "runner"):
        clock.advance(1)
        seconds += 1
        harness.listener.create_backlog(PER_SECOND)
        await harness.orchestrator.resync()
        largest_backlog = max(largest_backlog, len(harness.listener.backlog))
        assert seconds < 10 * BURST, "the queue stopped moving"
    runs = [await harness.run(run_id) for run_id in run_ids]
    assert {run["state"] for run in runs} == {"building"}, [run["reason"] for run in runs]
    assert seconds > 2 * APPEAR_TIMEOUT  # the burst really outlasted the timeout
    assert largest_backlog < BURST // 2  # the rest waited in the runner, where no timeout runs
    assert len(harness.listener.received) == BURST  # each request sent once
    assert _queued(harness, "runner") == 0 and _queued(harness, "eventlistener") == 0


async def test_request_never_turned_into_a_taskrun_fails_once_the_queue_moved_on(harness: Harness) -> None:
    clock = await _slow_listener(harness)
    lost = (await harness.post_run(spec(app={"name": "lost", "port": 8080})))["run_id"]
    others = [(await harness.post_run(spec(app={"name": f"app{index}", "port": 8080})))["run_id"]
              for index in range(9)]
    assert harness.listener.backlog is not None
    harness.listener.backlog.pop(0)  # the EventListener dropped the first request after answering it
    for _ in range(5):  # the others appear over five seconds: the queue is moving, so nobody fails yet
        clock.advance(1)
        harness.listener.create_backlog(PER_SECOND)
        await harness.orchestrator.resync()
    assert (await harness.run(lost))["state"] == "building"
    clock.advance(APPEAR_TIMEOUT - 1)
    await harness.orchestrator.resync()
    assert (await harness.run(lost))["state"] == "building"  # under a timeout since the latest TaskRun
    clock.advance(2)
    await harness.orchestrator.resync()
    run = await harness.run(lost)
    assert run["state"] == "failed" and run["reason"] == "build:TaskRunNotCreated"
    assert {(await harness.run(run_id))["state"] for run_id in others} == {"building"}
