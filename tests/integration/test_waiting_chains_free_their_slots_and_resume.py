"""A chain that waits for the cluster holds no slot, keeps its due time across a restart, and trusts no cache."""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec

PLAIN = {"dependency": {"type": "none"}, "migration": {"enabled": False}}


async def build_and_resync(harness: Harness, body: dict[str, object]) -> str:
    """Posts a run, lets its TaskRun succeed and has the resync start its chain; returns the run id."""
    run_id = str((await harness.post_run(body))["run_id"])
    harness.finish_taskrun(run_id)
    await harness.orchestrator.resync()
    return run_id


async def test_queued_runs_of_one_app_do_not_block_a_run_of_another_app(harness: Harness) -> None:
    harness.controllers.unready.add("shop")  # shop's Deployment never gets ready: its first run waits
    await harness.stop()
    await harness.start(chain_concurrency=2, ready_timeout=3600.0, poll_interval=0.01)
    shop_runs = [await build_and_resync(harness, spec(**PLAIN)) for _ in range(10)]
    cart = await build_and_resync(harness, spec(app={"name": "cart", "port": 8080}, **PLAIN))

    # Bounded only so that a regression fails instead of hanging: cart needs no shop chain to end.
    await asyncio.wait_for(harness.orchestrator.scheduler.join(f"chain:{cart}"), timeout=60)

    assert (await harness.run(cart))["state"] == "succeeded"
    waiting = await harness.run(shop_runs[0])
    app_step = next(step for step in waiting["steps"] if step["name"] == "app")
    assert waiting["state"] == "deploying" and app_step["reason"] == "AppNotReady"
    for queued in shop_runs[1:]:  # behind the app's lock, not started and holding no slot
        run = await harness.run(queued)
        assert run["state"] == "deploying"
        assert {step["state"] for step in run["steps"] if step["name"] != "build"} == {"pending"}
    for run_id in shop_runs:
        assert (await harness.http.delete(f"/runs/{run_id}")).status == 200


async def test_restart_during_a_wait_resumes_at_the_stored_due_time(harness: Harness) -> None:
    harness.controllers.unready.add("shop")
    await harness.stop()
    await harness.start(poll_interval=3600.0)  # the app step's next look is an hour away
    run_id = await build_and_resync(harness, spec())
    stored = await harness.app_step_waiting(run_id)
    due = datetime.fromisoformat(str(stored["due_at"]))
    await harness.stop()  # the runner dies while the step waits
    before = {name: len(harness.fake.applies("deployments", name)) for name in ("shop-redis", "shop-postgres")}
    jobs_before = len(harness.fake.applies("jobs"))

    harness.controllers.unready.clear()
    harness.controllers.mark_deployment_ready("ws-demo", "shop")
    clock = FakeClock(start=due.replace(microsecond=0))  # restarted a little before the step is due
    wait = (due - clock.now()).total_seconds()
    harness.clock = clock
    await harness.start(poll_interval=3600.0)
    await harness.orchestrator.resync()
    await harness.settle()

    run = await harness.run(run_id)
    assert run["state"] == "succeeded"
    assert clock.slept[0] == wait  # not looked at before its due time, and at it
    after = {name: len(harness.fake.applies("deployments", name)) for name in ("shop-redis", "shop-postgres")}
    assert after == before and len(harness.fake.applies("jobs")) == jobs_before  # finished steps not redone


async def test_a_workspace_namespace_deleted_by_hand_is_recreated_by_the_next_run(harness: Harness) -> None:
    await harness.run_to_success(spec(**PLAIN))
    harness.fake.store.delete(harness.fake.registry.resolve("namespaces"), None, "ws-demo")
    assert harness.fake.get_object("namespaces", "ws-demo") is None

    run = await harness.run_to_success(spec(**PLAIN))

    assert run["state"] == "succeeded"
    assert harness.fake.get_object("namespaces", "ws-demo") is not None


async def test_a_live_app_whose_objects_were_deleted_is_restored_by_the_resync(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    for name in ("shop", "shop-postgres"):  # the namespace with what was in it
        harness.fake.store.delete(harness.fake.registry.resolve("deployments"), "ws-demo", name)
    harness.fake.store.delete(harness.fake.registry.resolve("namespaces"), None, "ws-demo")
    jobs_before = len(harness.fake.applies("jobs"))

    await harness.orchestrator.resync()

    app = harness.fake.get_object("deployments", "shop", "ws-demo")
    assert app is not None and app["metadata"]["labels"]["tekton-runner.io/run-id"] == run["run_id"]
    assert harness.fake.get_object("namespaces", "ws-demo") is not None
    assert harness.fake.get_object("deployments", "shop-postgres", "ws-demo") is not None
    assert len(harness.fake.applies("jobs")) == jobs_before  # the migration is not run again
    assert harness.registry.get_sample_value("tekton_runner_restores_total") == 1


async def test_an_app_whose_newest_run_was_deleted_is_not_restored(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    assert (await harness.http.delete(f"/runs/{run['run_id']}")).status == 200
    await harness.orchestrator.resync()
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is None
    assert harness.registry.get_sample_value("tekton_runner_restores_total") == 0
