"""The whole flow with the real runner: POST /run -> the runner's CloudEvent -> real EventListener ->
real TaskRun -> kwok pod -> Tekton -> events controller -> the runner's sink -> deployment in
ws-<workspace>. Every outcome is checked in the API server, not in the runner's answers alone."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests.e2e.conftest import CTL, Cluster
from tests.e2e.kubeapi import KubeAPI, Obj, poll, taskrun_path
from tests.e2e.registry import push_image
from tests.e2e.runner import Runner, run_spec
from tests.e2e.sink import EventSink
from tests.e2e.workspace import (
    SUCCESSFUL,
    available,
    build_then_hold_migration,
    cloud_events_sent,
    deployment,
    digest_message,
    held_pod,
    image_param,
    jobs_of_run,
    new_workspace,
    result,
    settle_held_pods,
    taskrun_done,
)

pytestmark = pytest.mark.e2e

APP = "web"
FAKE_DIGEST = "sha256:" + "ab" * 32


async def assert_deployed(kube: KubeAPI, workspace: str, run_id: str, digest: str) -> Obj:
    """Dependencies, migration Job and app of this run exist and are ready; returns the app Service."""
    ns = f"ws-{workspace}"
    for dep in (f"{APP}-redis", f"{APP}-postgres"):
        await available(kube, ns, dep)
        assert await kube.get(f"/api/v1/namespaces/{ns}/services/{dep}") is not None
    assert await kube.get(f"/api/v1/namespaces/{ns}/secrets/{APP}-deps") is not None
    jobs = await jobs_of_run(kube, ns, run_id)
    assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
    assert jobs[0]["status"].get("succeeded", 0) >= 1
    app = await available(kube, ns, APP)
    assert app["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id
    images = [c["image"] for c in app["spec"]["template"]["spec"]["containers"]]
    assert any(image.endswith(f"@{digest}") for image in images), images
    service = await kube.get(f"/api/v1/namespaces/{ns}/services/{APP}")
    assert service is not None and service["spec"]["type"] == "NodePort"
    return service


async def test_git_run_with_both_dependencies_and_migration_is_deployed(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace()
    run_id = await runner.post_run(run_spec(workspace, APP))

    taskrun = await poll(f"TaskRun build-{run_id}",
                         lambda: kube.get(taskrun_path(cluster.build_namespace, f"build-{run_id}")), 60)
    labels = taskrun["metadata"]["labels"]
    assert (labels["tekton-runner.io/workspace"], labels["tekton-runner.io/app"]) == (workspace, APP)
    done = await taskrun_done(kube, cluster.build_namespace, run_id)
    digest = result(done, "IMAGE_DIGEST")
    assert digest and digest.startswith("sha256:")

    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    # Tekton's events controller delivered the completion event, and the runner took it.
    assert await cloud_events_sent(kube, cluster.build_namespace, f"build-{run_id}", SUCCESSFUL) >= 1
    assert await runner.events_counted(SUCCESSFUL, "accepted") >= 1

    service = await assert_deployed(kube, workspace, run_id, digest)
    node_port = service["spec"]["ports"][0]["nodePort"]
    assert run["endpoint"]["node_port"] == node_port
    assert run["endpoint"]["namespace"] == f"ws-{workspace}"


async def test_failed_build_fails_the_run_and_deploys_nothing(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace("hold")
    run_id = await runner.post_run(run_spec(workspace, APP))
    pod = await held_pod(kube, cluster.build_namespace, "TaskRun")
    assert pod["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id
    await settle_held_pods(kube, cluster.build_namespace, "TaskRun", "fail")

    run = await runner.wait_terminal(run_id)
    assert run["state"] == "failed", run
    ns = f"ws-{workspace}"
    assert await kube.list(f"/apis/apps/v1/namespaces/{ns}/deployments") == []
    assert await jobs_of_run(kube, ns, run_id) == []
    assert await kube.get(f"/api/v1/namespaces/{ns}/services/{APP}") is None


async def test_failed_migration_fails_the_run_and_leaves_the_app_unapplied(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace("hold")
    ns = f"ws-{workspace}"
    run_id = await runner.post_run(run_spec(workspace, APP))
    await build_then_hold_migration(kube, cluster.build_namespace, ns, FAKE_DIGEST)

    async def run_failed() -> bool:
        # the Job may retry with new pods; every one of them fails until the runner gives up
        await settle_held_pods(kube, ns, "Job", "fail")
        return (await runner.get_run(run_id))["state"] == "failed"

    await poll(f"run {run_id} to fail on its migration", run_failed, 180, interval=0.5)
    assert await deployment(kube, ns, APP) is None
    assert await kube.get(f"/api/v1/namespaces/{ns}/services/{APP}") is None
    await available(kube, ns, f"{APP}-postgres")  # the dependency it migrated against was there


async def test_dropped_completion_event_is_recovered_by_resync(
        cluster: Cluster, kube: KubeAPI, runner: Runner, event_sink: EventSink) -> None:
    # event_sink points Tekton at a sink that keeps every event away from the runner
    workspace = new_workspace()
    run_id = await runner.post_run(run_spec(workspace, APP))
    name = f"build-{run_id}"
    await event_sink.wait_for("the swallowed completion event", SUCCESSFUL, name, 90)

    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    assert await runner.events_counted(SUCCESSFUL, "accepted") == 0
    done = await kube.get(taskrun_path(cluster.build_namespace, name))
    assert done is not None
    await assert_deployed(kube, workspace, run_id, result(done, "IMAGE_DIGEST") or "")


async def test_runner_restart_in_the_middle_of_the_chain_finishes_the_run(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace("hold")
    ns = f"ws-{workspace}"
    run_id = await runner.post_run(run_spec(workspace, APP))
    await held_pod(kube, cluster.build_namespace, "TaskRun")
    await settle_held_pods(kube, cluster.build_namespace, "TaskRun", "succeed", digest_message(FAKE_DIGEST))
    await held_pod(kube, ns, "Job")  # the chain is waiting on the migration now
    assert (await runner.get_run(run_id))["state"] == "deploying"

    await runner.restart()
    await settle_held_pods(kube, ns, "Job", "succeed")

    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    await assert_deployed(kube, workspace, run_id, FAKE_DIGEST)


async def test_duplicate_completion_event_deploys_once(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace()
    ns, run_id = f"ws-{workspace}", await runner.post_run(run_spec(workspace, APP))
    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    name = f"build-{run_id}"
    done = await kube.get(taskrun_path(cluster.build_namespace, name))
    assert done is not None
    await assert_deployed(kube, workspace, run_id, result(done, "IMAGE_DIGEST") or "")
    app_before = await deployment(kube, ns, APP)
    jobs_before = await jobs_of_run(kube, ns, run_id)
    assert app_before is not None

    # A restarted events controller starts with an empty de-duplication cache and sends the current
    # state of every TaskRun again: a real duplicate of the successful event, with a new ce-id.
    sent_before = await cloud_events_sent(kube, cluster.build_namespace, name, SUCCESSFUL)
    await _ctl("restart", "tekton-events")

    async def resent() -> bool:
        return await cloud_events_sent(kube, cluster.build_namespace, name, SUCCESSFUL) > sent_before

    await poll("Tekton to send the successful event again", resent, 90)
    async def seen_again() -> bool:
        # The run has ended, so the re-sent event names no live run: it is ignored without a look.
        counted = [await runner.events_counted(SUCCESSFUL, action) for action in ("duplicate", "unmatched")]
        return sum(counted) > 0

    await poll("the runner to see the re-sent event", seen_again, 30)

    app_after = await deployment(kube, ns, APP)
    assert app_after is not None
    assert app_after["metadata"]["generation"] == app_before["metadata"]["generation"]
    assert app_after["metadata"]["uid"] == app_before["metadata"]["uid"]
    jobs_after = await jobs_of_run(kube, ns, run_id)
    assert [j["metadata"]["uid"] for j in jobs_after] == [j["metadata"]["uid"] for j in jobs_before]
    assert (await runner.get_run(run_id))["state"] == "succeeded"


async def test_missing_results_digest_comes_from_the_registry(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace("hold")
    run_id = await runner.post_run(run_spec(workspace, APP))
    pod = await held_pod(kube, cluster.build_namespace, "TaskRun")
    taskrun = await kube.get(taskrun_path(cluster.build_namespace, f"build-{run_id}"))
    assert taskrun is not None and pod["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id

    # what a real build would have pushed, at the reference the runner asked for
    image = image_param(taskrun)
    host, _, rest = image.partition("/")
    repository, _, tag = rest.rpartition(":")
    assert host == cluster.registry_host
    digest = await push_image(host, repository, tag)

    # the build step ends without a termination message: the TaskRun and its event carry no results
    await settle_held_pods(kube, cluster.build_namespace, "TaskRun", "succeed")
    done = await taskrun_done(kube, cluster.build_namespace, run_id)
    assert result(done, "IMAGE_DIGEST") is None

    await held_pod(kube, f"ws-{workspace}", "Job")  # the runner went on to the migration
    await settle_held_pods(kube, f"ws-{workspace}", "Job", "succeed")
    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    await assert_deployed(kube, workspace, run_id, digest)


async def _ctl(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, str(CTL), *args,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
