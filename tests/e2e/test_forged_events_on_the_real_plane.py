"""Forged events against the real plane: a real TaskRun still running, forged `failed` and `successful`
events for it (binary and structured, naming it, another namespace, and an attacker's digest), and
nothing is decided until Tekton really finishes; then the run deploys what Tekton built."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

from tekton_runner.models.settings import Settings
from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI, Obj, taskrun_path
from tests.e2e.runner import Runner, run_spec
from tests.e2e.sink import EventSink
from tests.e2e.workspace import (
    SUCCESSFUL,
    available,
    digest_message,
    held_pod,
    new_workspace,
    result,
    settle_held_pods,
    taskrun_done,
)
from tests.tekton_events import taskrun_event_data

pytestmark = pytest.mark.e2e

APP = "web"
EVIL_DIGEST = "sha256:" + "66" * 32
BUILT_DIGEST = "sha256:" + "b1" * 32  # what the (simulated) build step reports in its results


def forged(taskrun: Obj, *, succeeded: bool, namespace: str | None = None) -> dict[str, Any]:
    """The real TaskRun as an event would carry it (v1beta1 results), with the attacker's ending."""
    data = taskrun_event_data(
        taskrun, completionTime="2026-01-01T00:00:00Z", podName="evil",
        conditions=[{"type": "Succeeded", "status": "True" if succeeded else "False",
                     "reason": "Succeeded" if succeeded else "Forged", "message": "forged by a test"}],
        taskResults=[{"name": "IMAGE_DIGEST", "value": EVIL_DIGEST}])
    if namespace:
        data["taskRun"]["metadata"]["namespace"] = namespace
    return data


async def post_binary(runner: Runner, kind: str, data: dict[str, Any]) -> int:
    headers = {"Ce-Id": str(uuid.uuid4()), "Ce-Specversion": "1.0", "Ce-Source": "/forged",
               "Ce-Type": f"dev.tekton.event.taskrun.{kind}.v1", "Content-Type": "application/json"}
    async with runner.session.post(runner.events_sink, data=json.dumps(data), headers=headers) as response:
        return response.status


async def post_structured(runner: Runner, kind: str, data: dict[str, Any]) -> int:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/forged",
             "type": f"dev.tekton.event.taskrun.{kind}.v1", "datacontenttype": "application/json", "data": data}
    async with runner.session.post(runner.events_sink, data=json.dumps(event),
                                   headers={"Content-Type": "application/cloudevents+json"}) as response:
        return response.status


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_forged_events_for_a_running_build_decide_nothing(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace("hold")  # kwok keeps this build's pod Running until the test decides
    run_id = await runner.post_run(run_spec(workspace, APP))
    await held_pod(kube, cluster.build_namespace, "TaskRun")
    name = f"build-{run_id}"
    taskrun = await kube.get(taskrun_path(cluster.build_namespace, name))
    assert taskrun is not None

    assert await post_binary(runner, "failed", forged(taskrun, succeeded=False)) == 202
    assert await post_structured(runner, "successful", forged(taskrun, succeeded=True)) == 202
    # Same TaskRun uid, type and end as the one before: recorded as a duplicate (200), deciding nothing either.
    assert await post_binary(runner, "successful", forged(taskrun, succeeded=True, namespace="default")) in (200, 202)
    assert (await runner.get_run(run_id))["state"] == "building"

    # Tekton really finishes; the chain's migration pod (held too, in ws-hold-…) is then let through.
    await settle_held_pods(kube, cluster.build_namespace, "TaskRun", "succeed", digest_message(BUILT_DIGEST))
    done = await taskrun_done(kube, cluster.build_namespace, run_id)
    await held_pod(kube, f"ws-{workspace}", "Job")
    await settle_held_pods(kube, f"ws-{workspace}", "Job", "succeed")
    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    real_digest = result(done, "IMAGE_DIGEST")
    assert real_digest == BUILT_DIGEST and run["digest"] == BUILT_DIGEST
    assert "forged" not in json.dumps(run).lower()
    finished = moment(done["status"]["completionTime"])
    for deployment in (f"{APP}-redis", f"{APP}-postgres", APP):
        obj = await available(kube, f"ws-{workspace}", deployment)
        # Nothing was applied before Tekton's real completion (timestamps have whole seconds).
        assert moment(obj["metadata"]["creationTimestamp"]) >= finished.replace(microsecond=0), deployment
    app = await available(kube, f"ws-{workspace}", APP)
    assert app["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@{real_digest}")


async def test_real_taskrun_events_fit_the_sink_limit_with_room(
        cluster: Cluster, kube: KubeAPI, runner: Runner, event_sink: EventSink) -> None:
    """Tekton's own `successful` event (swallowed by a recording sink) is far below the body limit, and
    the runner's sink takes it as it came (docs/security.md: how the limit was chosen)."""
    run_id = await runner.post_run(run_spec(new_workspace(), APP))
    event = await event_sink.wait_for("the real completion event", SUCCESSFUL, f"build-{run_id}", 90)
    print(f"real TaskRun successful event: {event.size} bytes")
    assert 0 < event.size * 8 <= Settings.model_fields["max_event_bytes"].default
    headers = {k: v for k, v in event.headers if k.lower().startswith("ce-") or k.lower() == "content-type"}
    async with runner.session.post(runner.events_sink, data=json.dumps(event.data), headers=headers) as response:
        assert response.status in (200, 202), await response.text()
    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
