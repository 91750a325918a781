"""Removes what a run left in the cluster: its build if still running, and the objects it owns."""

from __future__ import annotations

import logging

from ...kube import KubeError
from ...models.ids import taskrun_name
from ...models.runs import Run
from ...models.taskruns import RUN_ID_LABEL
from .. import naming
from ..context import ChainContext

log = logging.getLogger("tekton_runner.teardown")

# Objects are matched by the run-id label: a newer run of the same app relabels them, and is left alone.
OWNED_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("batch/v1", "Job"),
    ("v1", "Secret"),
)


async def tear_down(ctx: ChainContext, run: Run) -> list[str]:
    """Deletes the run's objects; returns what was removed. 404s count as already removed."""
    removed: list[str] = []
    namespace = naming.namespace(run)
    try:
        if await ctx.kube.delete("tekton.dev/v1", "TaskRun", taskrun_name(run.id), ctx.settings.build_namespace):
            removed.append(f"TaskRun {ctx.settings.build_namespace}/{taskrun_name(run.id)}")
        kube = await ctx.access.kube(run.workspace)
        for api_version, kind in OWNED_KINDS:
            for obj in await kube.list(api_version, kind, namespace=namespace, labels={RUN_ID_LABEL: run.id}):
                name = obj["metadata"]["name"]
                if await kube.delete(api_version, kind, name, namespace):
                    removed.append(f"{kind} {namespace}/{name}")
    except KubeError as error:
        log.warning("tearing down run %s: %s", run.id, error.message)
        raise
    mapping = await ctx.ports.get(run.workspace, run.app)
    if mapping is not None and mapping.run_id == run.id:
        await ctx.forwarder.withdraw(mapping.port)
        await ctx.ports.release(workspace=run.workspace, app=run.app)
        removed.append(f"external port {mapping.port}")
    await ctx.status.endpoint_set(run.id, None)
    return removed
