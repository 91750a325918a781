"""A burst of runs larger than one appear timeout's worth of TaskRuns, against the real EventListener.

The local plane's EventListener sink runs with client-go's default client limits (5 requests/s, burst 10),
so it creates TaskRuns at about 5 per second however fast it answers. With the appear timeout at 10 s,
100 runs posted at once get their last TaskRun well after the timeout; none may fail with
TaskRunNotCreated. Builds are held (workspace hold-*: kwok keeps their pods running), so the runs stop at
`building` and the test deletes them at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import Cluster, serving
from tests.e2e.kubeapi import KubeAPI, poll, taskrun_path
from tests.e2e.runner import Runner, run_spec
from tests.e2e.workspace import new_workspace

pytestmark = pytest.mark.e2e

BURST, APPEAR_TIMEOUT = 100, 10


@pytest.fixture
async def paced_runner(cluster: Cluster, kube: KubeAPI, tmp_path: Path) -> AsyncIterator[Runner]:
    proc = Runner(cluster.env, tmp_path / "runner")
    proc.env["TEKTON_RUNNER_TASKRUN_APPEAR_TIMEOUT"] = str(APPEAR_TIMEOUT)
    async with serving(kube, proc):
        yield proc


def _created(taskrun: dict[str, object]) -> datetime:
    metadata = taskrun["metadata"]
    assert isinstance(metadata, dict)
    return datetime.fromisoformat(str(metadata["creationTimestamp"]).replace("Z", "+00:00"))


async def test_burst_larger_than_the_appear_timeout_fails_no_run(
        cluster: Cluster, kube: KubeAPI, paced_runner: Runner) -> None:
    workspace = new_workspace("hold")
    run_ids = await asyncio.gather(*(paced_runner.post_run(run_spec(workspace, f"app{index}"))
                                     for index in range(BURST)))
    try:
        async def queued() -> dict[str, object] | None:
            """A run waiting in the runner's queue, told its place (the runner queues what it holds back)."""
            async with paced_runner.session.get(f"{paced_runner.base_url}/runs",
                                                params={"workspace": workspace, "state": "pending"}) as resp:
                pending = (await resp.json())["runs"]
            assert pending, "no run waited in the runner's queue"
            return next((run for run in pending if run["reason"] == "Queued"), None)

        waiting = await poll("a run queued in the runner", queued, 60)
        assert str(waiting["message"]).startswith("queued behind "), waiting

        selector = f"tekton-runner.io/workspace={workspace}"

        async def every_taskrun() -> list[dict[str, object]] | None:
            failed = await _failed(paced_runner, workspace)
            assert not failed, f"runs failed while queued: {failed}"
            found = await kube.list(taskrun_path(cluster.build_namespace), selector)
            return found if len(found) == BURST else None

        taskruns = await poll(f"{BURST} TaskRuns of workspace {workspace}", every_taskrun, 300)
        created = sorted(_created(taskrun) for taskrun in taskruns)
        # The premise: the EventListener took longer than one appear timeout to create the burst's TaskRuns.
        assert (created[-1] - created[0]).total_seconds() > APPEAR_TIMEOUT

        async def all_building() -> bool | None:
            runs = [await paced_runner.get_run(run_id) for run_id in run_ids]
            assert not [run for run in runs if run["state"] == "failed"], "a run failed"
            return True if {run["state"] for run in runs} == {"building"} else None

        await poll("every run building", all_building, 120)
    finally:
        for run_id in run_ids:
            async with paced_runner.session.delete(f"{paced_runner.base_url}/runs/{run_id}") as resp:
                assert resp.status == 200, await resp.text()


async def _failed(runner: Runner, workspace: str) -> list[tuple[str, str]]:
    async with runner.session.get(f"{runner.base_url}/runs",
                                  params={"workspace": workspace, "state": "failed"}) as resp:
        body = await resp.json()
    return [(run["run_id"], run["reason"]) for run in body["runs"]]
