"""Why a build failed, in the builder's words: the first step container of the TaskRun's pod that exited
non-zero, its exit code and the last lines of its log, read from the API server. Called by observation.py
with the TaskRun it read itself (never with what an event carried: the sink only makes the runner look).
"""

from __future__ import annotations

from ...kube import KubeError, NotFound
from ...models.pods import PodView, exit_words
from ...models.taskruns import STEP_PREFIX, TaskRunView
from ..context import ChainContext
from ..diagnosis import log_tail


async def failure_message(ctx: ChainContext, view: TaskRunView, tekton_says: str) -> str:
    """Tekton's message, followed by the failed step's exit and last log lines when the pod still has them."""
    detail = await _failed_step(ctx, view) if view.status.pod_name else None
    return f"{tekton_says}\n{detail}" if detail else tekton_says


async def _failed_step(ctx: ChainContext, view: TaskRunView) -> str | None:
    namespace, pod_name = ctx.settings.build_namespace, view.status.pod_name
    try:
        obj = await ctx.kube.get("v1", "Pod", pod_name, namespace)
    except NotFound:
        return None
    except KubeError as error:
        return f"(the build pod {pod_name} could not be read: {error.message})"
    pod = PodView.model_validate(obj)
    statuses = {status.name: status for status in pod.status.container_statuses}
    for container in (item.get("name", "") for item in (obj.get("spec") or {}).get("containers") or []):
        ended = statuses[container].state.terminated if container in statuses else None
        if not container.startswith(STEP_PREFIX) or ended is None or ended.exit_code == 0:
            continue
        # Steps after a failed one are skipped by Tekton's entrypoint with an exit code of their own: the
        # first in the pod's (the Task's) order is the one that failed.
        step = container.removeprefix(STEP_PREFIX)
        lines = await log_tail(ctx.kube, namespace, pod_name, container)
        said = f"step {step} failed with {exit_words(ended)}"
        return f"{said}; its last log lines:\n{lines}" if lines else said
    return None
