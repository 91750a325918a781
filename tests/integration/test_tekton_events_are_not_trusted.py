"""Tekton's events may be duplicated, reordered, non-final or lost; the run still deploys exactly once."""

from __future__ import annotations

import asyncio

from tests.integration.harness import BUILD_NS, Harness, spec


async def test_duplicate_successful_events_deploy_once(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.finish_taskrun(run_id)
    first, second, third = await asyncio.gather(
        harness.send_event(taskrun, "successful"),
        harness.send_event(taskrun, "successful"),  # a re-send carries a fresh ce-id
        harness.send_event(taskrun, "successful"),
    )
    assert sorted([first.status, second.status, third.status]) == [200, 200, 202]
    await harness.settle()
    await harness.send_event(taskrun, "successful")  # and one long after the run ended
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "succeeded"
    assert len(harness.fake.applies("deployments", "shop")) == 1
    assert len(harness.fake.applies("jobs")) == 1


async def test_running_event_after_success_changes_nothing(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    taskrun = harness.fake.get_object("taskruns", f"build-{run['run_id']}", BUILD_NS)
    assert taskrun is not None
    stale = {**taskrun, "status": {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]}}
    response = await harness.send_event(stale, "running")
    assert response.status == 202
    await harness.settle()
    assert (await harness.run(run["run_id"]))["state"] == "succeeded"
    assert len(harness.fake.applies("deployments", "shop")) == 1


async def test_event_is_checked_against_the_taskrun_in_the_cluster(harness: Harness) -> None:
    """A `successful` event for a TaskRun the API server still shows running does not deploy."""
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    claimed = {**taskrun, "status": {"completionTime": "2026-11-26T10:01:00Z", "conditions": [
        {"type": "Succeeded", "status": "True", "reason": "Succeeded"}]}}
    await harness.send_event(claimed, "successful")
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "building"
    assert harness.fake.applies("deployments") == []


async def test_failed_without_completion_time_is_not_final(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    harness.fake.set_status("taskruns", f"build-{run_id}", {"conditions": [
        {"type": "Succeeded", "status": "False", "reason": "PodCreationFailed", "message": "retrying"}]},
        namespace=BUILD_NS)
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    await harness.send_event(taskrun, "failed")
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "building"
    # Later the same TaskRun succeeds; its `failed`-then-`successful` history still ends in one deploy.
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "succeeded"


async def test_lost_completion_event_is_found_by_resync(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    harness.finish_taskrun(run_id)  # Tekton finished, but its event never arrived
    await harness.orchestrator.resync()
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded"
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is not None


async def test_results_missing_from_event_are_read_from_the_taskrun(harness: Harness) -> None:
    run_id = (await harness.post_run(spec(dependency={"type": "none"}, migration={"enabled": False})))["run_id"]
    taskrun = harness.finish_taskrun(run_id)
    stripped = {**taskrun, "status": {**taskrun["status"], "results": []}}
    await harness.send_event(stripped, "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded" and run["digest"] == taskrun["status"]["results"][0]["value"]


async def test_unknown_event_types_are_ignored(harness: Harness) -> None:
    response = await harness.http.post("/cloudevents", data=b"{}", headers={
        "Ce-Id": "1", "Ce-Specversion": "1.0", "Ce-Source": "el", "Ce-Type": "dev.tekton.event.triggers.started.v1",
        "Content-Type": "application/json"})
    assert response.status == 202
    assert (await response.json())["action"] == "ignored"


async def test_malformed_event_is_a_client_error(harness: Harness) -> None:
    response = await harness.http.post("/cloudevents", data=b"{not json", headers={
        "Ce-Id": "1", "Ce-Specversion": "1.0", "Ce-Source": "x", "Ce-Type": "dev.tekton.event.taskrun.successful.v1",
        "Content-Type": "application/json"})
    assert response.status == 400
