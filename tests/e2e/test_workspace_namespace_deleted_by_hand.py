"""Nothing the cluster can change is remembered: a workspace namespace deleted by hand comes back with the next run."""

from __future__ import annotations

import pytest

from tests.e2e.kubeapi import KubeAPI, poll
from tests.e2e.runner import Runner, run_spec
from tests.e2e.workspace import available, new_workspace

pytestmark = pytest.mark.e2e

APP = "web"


async def test_a_namespace_deleted_by_hand_is_recreated_by_the_next_run(kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace()
    ns = f"ws-{workspace}"
    first = await runner.wait_terminal(await runner.post_run(run_spec(workspace, APP)))
    assert first["state"] == "succeeded", first
    # Deleted first, so the app is not live: the resync restores live apps by itself, and this is about the
    # next run finding the namespace gone.
    async with runner.session.delete(f"{runner.base_url}/runs/{first['run_id']}") as response:
        assert response.status == 200

    await kube.delete(f"/api/v1/namespaces/{ns}")

    async def gone() -> bool:
        return await kube.get(f"/api/v1/namespaces/{ns}") is None

    await poll(f"namespace {ns} to be removed by the namespace controller", gone, 120, interval=0.5)

    second = await runner.wait_terminal(await runner.post_run(run_spec(workspace, APP)))
    assert second["state"] == "succeeded", second
    namespace = await kube.get(f"/api/v1/namespaces/{ns}")
    assert namespace is not None and namespace["metadata"]["labels"]["tekton-runner.io/workspace"] == workspace
    app = await available(kube, ns, APP)
    assert app["metadata"]["labels"]["tekton-runner.io/run-id"] == second["run_id"]
