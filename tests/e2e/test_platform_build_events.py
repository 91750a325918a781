"""The platform alone, no runner: build request -> real EventListener -> real TaskRun -> kwok pod ->
Tekton marks the TaskRun -> Tekton's events controller posts the completion CloudEvent to our sink."""

from __future__ import annotations

import pytest

from tests.e2e.buildrequests import (
    build_request,
    decide,
    new_run_id,
    pod_of_taskrun,
    post_build_request,
    wait_running,
)
from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI, condition, poll, taskrun_path
from tests.e2e.sink import EventSink

pytestmark = pytest.mark.e2e

SUCCESSFUL = "dev.tekton.event.taskrun.successful.v1"
FAILED = "dev.tekton.event.taskrun.failed.v1"


async def finished(kube: KubeAPI, namespace: str, name: str, status: str, within: float = 90) -> dict:
    async def probe() -> dict | None:
        obj = await kube.get(taskrun_path(namespace, name))
        cond = condition(obj, "Succeeded")
        if cond and cond["status"] == status and obj and obj["status"].get("completionTime"):
            return obj
        return None
    return await poll(f"TaskRun {name} with Succeeded={status}", probe, within)


async def test_build_request_event_ends_in_succeeded_taskrun_and_completion_event(
        cluster: Cluster, kube: KubeAPI, event_sink: EventSink) -> None:
    run_id = new_run_id()
    body = build_request(run_id, "smoke", "hello", f"{cluster.registry_host}/library/smoke-hello:{run_id}")

    answer = await post_build_request(cluster.eventlistener_url, body)
    assert answer.get("eventID")

    ns, name = cluster.build_namespace, f"build-{run_id}"
    taskrun = await poll(f"TaskRun {name}", lambda: kube.get(taskrun_path(ns, name)), 60)
    labels = taskrun["metadata"]["labels"]
    assert labels["tekton-runner.io/run-id"] == run_id
    assert labels["tekton-runner.io/workspace"] == "smoke"
    assert labels["tekton-runner.io/app"] == "hello"
    assert labels["triggers.tekton.dev/triggers-eventid"] == answer["eventID"]
    assert {"name": "IMAGE", "value": body["image"]} in taskrun["spec"]["params"]

    done = await finished(kube, ns, name, "True")
    assert done["status"]["conditions"][0]["reason"] == "Succeeded"
    pod = await kube.get(f"/api/v1/namespaces/{ns}/pods/{done['status']['podName']}")
    assert pod is not None and pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["nodeName"] == "kwok-node-0"
    digest = {r["name"]: r["value"] for r in done["status"].get("results", [])}["IMAGE_DIGEST"]
    assert digest.startswith("sha256:") and len(digest) == 71

    event = await event_sink.wait_for("completion event", SUCCESSFUL, name, 60)
    payload = event.taskrun
    assert payload["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id
    assert payload["metadata"]["uid"] == done["metadata"]["uid"]
    # the event carries the v1beta1 shape: results under taskResults
    assert {"name": "IMAGE_DIGEST", "type": "string", "value": digest} in payload["status"]["taskResults"]


async def test_failing_build_pod_ends_in_failed_taskrun_and_failed_event(
        cluster: Cluster, kube: KubeAPI, event_sink: EventSink) -> None:
    run_id = new_run_id()
    workspace = f"hold-{run_id[2:10]}"  # held: kwok waits for our verdict
    body = build_request(run_id, workspace, "broken", f"{cluster.registry_host}/library/broken:{run_id}")
    await post_build_request(cluster.eventlistener_url, body)

    ns, name = cluster.build_namespace, f"build-{run_id}"
    pod = await pod_of_taskrun(kube, ns, name)
    await wait_running(kube, ns, pod["metadata"]["name"])
    await decide(kube, ns, pod["metadata"]["name"], "fail")

    done = await finished(kube, ns, name, "False")
    assert done["status"]["conditions"][0]["reason"] in ("Failed", "StepFailed")
    assert not done["status"].get("results")

    event = await event_sink.wait_for("failure event", FAILED, name, 60)
    assert event.taskrun["status"]["completionTime"]
    assert event.taskrun["metadata"]["labels"]["tekton-runner.io/workspace"] == workspace
