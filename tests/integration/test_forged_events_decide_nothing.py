"""An outsider on the network can POST anything to the open Tekton sink; none of it decides anything.

Each case forges what an attacker would, then asserts what the API server (the fake) and the database
hold afterwards: no deployment, no digest, no status text of the sender's, and the real build still
deploys once Tekton (the API server) says so.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

from tests.databases import both_backends
from tests.integration.harness import BUILD_NS, DIGEST, Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


EVIL_DIGEST = "sha256:" + "66" * 32
Json = dict[str, Any]


def forged_success(run_id: str, *, name: str | None = None, namespace: str = BUILD_NS,
                   digest: str = EVIL_DIGEST, image: str = "evil.example/x:latest") -> Json:
    """A TaskRun that does not exist in the API server, claiming success with the attacker's digest."""
    return {
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": name or f"build-{run_id}", "namespace": namespace, "uid": str(uuid.uuid4()),
                     "labels": {"tekton-runner.io/run-id": run_id}},
        "spec": {"params": [{"name": "IMAGE", "value": image}]},
        "status": {"completionTime": "2026-11-26T10:01:00Z",
                   "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded",
                                   "message": "<script>alert(1)</script>"}],
                   "results": [{"name": "IMAGE_DIGEST", "value": digest}]},
    }


async def nothing_deployed(harness: Harness, run_id: str) -> None:
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] in ("pending", "building"), run
    assert run["digest"] is None
    assert harness.fake.applies("deployments") == [] and harness.fake.applies("jobs") == []
    assert "alert(1)" not in json.dumps(run) and "evil" not in json.dumps(run)


async def test_success_for_a_taskrun_that_does_not_exist_deploys_nothing(harness: Harness) -> None:
    harness.listener.create_taskruns = False  # accepted, but no TaskRun (yet)
    run_id = (await harness.post_run(spec()))["run_id"]
    response = await harness.send_event(forged_success(run_id), "successful")
    assert response.status == 202
    await nothing_deployed(harness, run_id)


async def test_success_naming_another_taskrun_or_namespace_deploys_nothing(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]  # its real TaskRun is still running
    harness.fake.add_namespace("attacker")
    for name, namespace in ((f"build-{run_id}", "attacker"), ("evil", BUILD_NS), ("evil", "attacker")):
        # Even a finished TaskRun that really exists elsewhere is not this run's build.
        harness.fake.put_object(forged_success(run_id, name=name, namespace=namespace))
        await harness.send_event(forged_success(run_id, name=name, namespace=namespace), "successful")
    await nothing_deployed(harness, run_id)
    reads = [r.path for r in harness.fake.requests_to("GET", r"/taskruns/")]
    assert reads and all(path.endswith(f"/namespaces/{BUILD_NS}/taskruns/build-{run_id}") for path in reads)


async def test_failed_api_read_never_falls_back_to_the_event(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    harness.fake.fail(method="GET", path_regex=rf"/taskruns/build-{run_id}$", status=503, times=None)
    await harness.send_event(forged_success(run_id), "successful")
    await nothing_deployed(harness, run_id)
    assert harness.fake.requests_to("GET", rf"/taskruns/build-{run_id}$")[-1].status == 503
    # The API server recovers and Tekton really finishes: the resync deploys the API server's digest.
    harness.fake.faults.clear()
    harness.finish_taskrun(run_id)
    await harness.orchestrator.resync()
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded" and run["digest"] == DIGEST


async def test_failed_event_for_a_healthy_build_fails_nothing(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    forged = copy.deepcopy(taskrun)
    forged["status"] = {"completionTime": "2026-11-26T10:01:00Z", "conditions": [
        {"type": "Succeeded", "status": "False", "reason": "Forged", "message": "pwned"}]}
    await harness.send_event(forged, "failed")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "building" and "pwned" not in json.dumps(run) and "Forged" not in json.dumps(run)


async def test_running_event_text_never_reaches_the_status(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    harness.fake.set_status("taskruns", f"build-{run_id}", {"podName": "p", "conditions": [
        {"type": "Succeeded", "status": "Unknown", "reason": "Running", "message": "step build-and-push"}]},
        namespace=BUILD_NS)
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    forged = copy.deepcopy(taskrun)
    forged["status"]["conditions"][0]["message"] = "Visit http://phish.example to fix your build"
    await harness.send_event(forged, "running")
    await harness.settle()
    run = await harness.run(run_id)
    build = next(step for step in run["steps"] if step["name"] == "build")
    assert "phish" not in json.dumps(run)
    assert build["message"] == "step build-and-push"  # the API server's words, not the sender's


async def test_taskrun_building_another_image_is_not_deployed(harness: Harness) -> None:
    """Someone recreated build-<run id> to push their own image: its success deploys nothing."""
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.finish_taskrun(run_id)
    obj = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert obj is not None
    obj["spec"]["params"] = [{"name": "IMAGE", "value": "evil.example/x:latest"}]
    harness.fake.put_object(obj)
    await harness.send_event(taskrun, "successful")
    await harness.orchestrator.resync()
    await nothing_deployed(harness, run_id)


async def test_replaced_taskrun_is_not_the_build_the_run_saw(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    await harness.send_event(taskrun, "running")  # the runner records the TaskRun's uid
    await harness.settle()
    harness.fake.store.delete(harness.fake.registry.resolve("taskruns"), BUILD_NS, f"build-{run_id}")
    harness.fake.put_object(taskrun)  # the API server stamps a new uid on the new object
    replaced = harness.finish_taskrun(run_id)
    await harness.send_event(replaced, "successful")
    await nothing_deployed(harness, run_id)


async def test_event_types_cannot_grow_the_metrics(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    for index in range(40):
        await harness.send_event(taskrun, f"x{index}-{uuid.uuid4().hex}")
        await harness.http.post("/cloudevents", data=b"{}", headers={
            "Ce-Id": str(index), "Ce-Specversion": "1.0", "Ce-Source": "x",
            "Ce-Type": f"com.example.{uuid.uuid4().hex}", "Content-Type": "application/json"})
    metrics = await (await harness.http.get("/metrics")).text()
    types = set(re.findall(r'tekton_runner_events_total\{action="\w+",type="([^"]*)"\}', metrics))
    types |= set(re.findall(r'tekton_runner_events_total\{type="([^"]*)",action="\w+"\}', metrics))
    assert types and types <= {"started", "running", "successful", "failed", "unknown", "other", "invalid"}


async def test_event_flood_keeps_the_events_table_bounded(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.fake.get_object("taskruns", f"build-{run_id}", BUILD_NS)
    assert taskrun is not None
    keep = harness.settings.events_per_subject
    for index in range(keep * 3):
        forged = copy.deepcopy(taskrun)
        forged["metadata"]["uid"] = f"forged-{index}"  # a distinct dedup key each time
        assert (await harness.send_event(forged, "running")).status == 202
    for _ in range(keep):  # events for runs that do not exist are not even recorded
        await harness.send_event(forged_success(f"r-{uuid.uuid4().hex[:16]}"), "successful")
    await harness.settle()
    assert await harness.orchestrator.ctx.events.count_events() == keep
    assert len(harness.orchestrator._lookouts) == 0  # every coalesced look released its key


async def test_processed_events_are_forgotten_after_the_retention(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    assert await harness.orchestrator.ctx.events.count_events() == 1
    await harness.stop()
    await harness.start(event_retention=0.0)
    await harness.orchestrator.resync()
    assert await harness.orchestrator.ctx.events.count_events() == 0
    assert (await harness.run(run["run_id"]))["state"] == "succeeded"


async def test_oversized_event_is_refused_and_recorded_nowhere(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    big = forged_success(run_id)
    big["metadata"]["annotations"] = {"padding": "x" * harness.settings.max_event_bytes}
    response = await harness.send_event(big, "successful")
    assert response.status == 413
    assert await harness.orchestrator.ctx.events.count_events() == 0


async def test_sink_secret_path_closes_the_plain_sink(harness: Harness) -> None:
    secret = "s" * 24
    await harness.stop()
    await harness.start(events_path_secret=secret)
    run_id = (await harness.post_run(spec(dependency={"type": "none"}, migration={"enabled": False})))["run_id"]
    taskrun = harness.finish_taskrun(run_id)
    for path in ("/cloudevents", "/cloudevents/" + "t" * 24):
        assert (await harness.send_event(taskrun, "successful", path=path)).status == 404
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "building"
    assert await harness.orchestrator.ctx.events.count_events() == 0
    assert (await harness.send_event(taskrun, "successful", path=f"/cloudevents/{secret}")).status == 202
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "succeeded"


async def test_without_a_secret_only_the_plain_sink_answers(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.finish_taskrun(run_id)
    assert (await harness.send_event(taskrun, "successful", path="/cloudevents/guess")).status == 404
