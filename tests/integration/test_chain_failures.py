"""Failures inside the post-build chain: the run fails at the right step with a usable reason."""

from __future__ import annotations

from tests.integration.harness import Harness, spec


async def test_failed_migration_keeps_app_unapplied_and_points_at_logs(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    job = f"shop-migrate-{run_id[2:10]}"
    harness.controllers.failing_jobs.add(job)
    harness.fake.put_object({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"{job}-x1", "namespace": "ws-demo", "labels": {"job-name": job}}})
    harness.fake.set_pod_log("ws-demo", f"{job}-x1", "relation \"users\" already exists\n")
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "migration:MigrationFailed"
    assert f"kubectl logs -n ws-demo job/{job}" in run["message"]
    assert "already exists" in run["message"]
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is None
    assert harness.fake.get_object("jobs", job, "ws-demo") is not None  # kept for its logs
    steps = {step["name"]: step["state"] for step in run["steps"]}
    assert steps == {"build": "succeeded", "dependency": "succeeded", "migration": "failed",
                     "app": "skipped", "forward": "skipped"}


async def test_dependency_that_never_gets_ready_fails_with_reason(harness: Harness) -> None:
    harness.controllers.deployments_ready = False
    await harness.stop()
    await harness.start(ready_timeout=0.05)
    run_id = (await harness.post_run(spec()))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "dependency:DependencyNotReady"
    assert "0/1 replicas ready" in run["message"]


async def test_throttled_and_unavailable_api_is_retried(harness: Harness) -> None:
    harness.fake.fail(method="PATCH", path_regex=r"/deployments/shop$", status=429, times=1)
    harness.fake.fail(method="PATCH", path_regex=r"/services/shop$", status=503, times=2)
    run = await harness.run_to_success(spec())
    app_step = next(step for step in run["steps"] if step["name"] == "app")
    assert app_step["attempts"] == 4  # one 429 and two 503s, each retried as a new attempt of the step
    assert app_step["reason"] == "Ready"
    assert len(harness.fake.applies("services", "shop")) == 3


async def test_rejected_object_fails_the_step_with_the_api_message(harness: Harness) -> None:
    harness.fake.fail(method="PATCH", path_regex=r"/deployments/shop$", status=422, times=1)
    run_id = (await harness.post_run(spec()))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"].startswith("app:KubernetesAPI")
    assert len(harness.fake.applies("deployments", "shop")) == 1


async def test_restart_in_the_middle_of_the_chain_resumes_without_redoing_steps(harness: Harness) -> None:
    hold = harness.fake.delay(method="PATCH", path_regex=r"/deployments/shop$")
    run_id = (await harness.post_run(spec()))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await hold.arrived.wait()
    await harness.stop()  # the runner dies while the app step waits on the API
    hold.release.set()
    before = {name: len(harness.fake.applies("deployments", name)) for name in ("shop-redis", "shop-postgres")}
    await harness.start()
    assert (await harness.run(run_id))["state"] == "deploying"
    await harness.orchestrator.resync()
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded"
    after = {name: len(harness.fake.applies("deployments", name)) for name in ("shop-redis", "shop-postgres")}
    assert after == before  # finished steps are not run again
    assert len(harness.fake.applies("jobs")) == 1


