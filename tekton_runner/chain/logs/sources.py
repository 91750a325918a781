"""Where a run step's logs are: the build's TaskRun pod, the migration Job's pods or the app's pods, with
their containers in order; or why there are none (not reached yet, or gone). Called by GET /runs/{id}/logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...kube import Kube, KubeObject, NotFound
from ...models.ids import taskrun_name
from ...models.runs import Run, RunState, StepName, StepState
from ...models.taskruns import APP_ID_LABEL, RUN_ID_LABEL, STEP_PREFIX, Outcome, TaskRunView
from .. import naming
from ..context import ChainContext

TASKRUN_POD_LABEL = "tekton.dev/taskRun"  # Tekton labels each TaskRun's pod with the TaskRun's name
LOG_STEPS = (StepName.BUILD, StepName.MIGRATION, StepName.APP)


@dataclass(frozen=True)
class PodLogs:
    """One pod and the containers to read, in order, each with the name its lines are prefixed with."""

    kube: Kube
    namespace: str
    pod: str
    containers: tuple[tuple[str, str], ...]  # (container, label)


class LogsUnavailable(Exception):
    """There is nothing to read: `status` 404 (not there yet, or never) or 410 (was there, now gone).

    `may_come` says whether waiting could change that (a follower waits; a plain read answers at once).
    """

    def __init__(self, status: int, error: str, message: str, *, may_come: bool = False) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.may_come = status, error, message, may_come


def _gone(message: str) -> LogsUnavailable:
    return LogsUnavailable(410, "logs_gone", message)


def _not_yet(message: str) -> LogsUnavailable:
    return LogsUnavailable(404, "not_started", message, may_come=True)


def container_state(pod: KubeObject, container: str) -> str | None:
    """`waiting`, `running` or `terminated` as the kubelet last reported it; None before any report."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            state: dict[str, Any] = status.get("state") or {}
            return next((key for key in ("terminated", "running", "waiting") if key in state), None)
    return None


def _containers(pod: KubeObject) -> list[str]:
    return [str(item["name"]) for item in (pod.get("spec") or {}).get("containers") or []]


async def locate(ctx: ChainContext, run: Run, step: StepName) -> list[PodLogs]:
    """The pods holding `step`'s logs, or LogsUnavailable saying why there are none; KubeError passes."""
    if step is StepName.BUILD:
        return [await _build_pod(ctx, run)]
    if step is StepName.MIGRATION and not run.spec.migration.enabled:
        raise LogsUnavailable(404, "no_such_step", f"run {run.id} has no migration step (migration.enabled is false)")
    return await _workspace_pods(ctx, run, step)


async def _taskrun(ctx: ChainContext, run: Run) -> TaskRunView | None:
    """The run's TaskRun: `build-<run id>`, or for a push build the app's TaskRun with the run's uid."""
    namespace = ctx.settings.build_namespace
    try:
        return TaskRunView.model_validate(await ctx.kube.get("tekton.dev/v1", "TaskRun", taskrun_name(run.id),
                                                             namespace))
    except NotFound:
        if run.taskrun_uid is None:
            return None
    for obj in await ctx.kube.list("tekton.dev/v1", "TaskRun", namespace=namespace, has_label=APP_ID_LABEL):
        view = TaskRunView.model_validate(obj)
        if view.metadata.uid == run.taskrun_uid:
            return view
    return None


async def _build_pod(ctx: ChainContext, run: Run) -> PodLogs:
    namespace = ctx.settings.build_namespace
    if run.state is RunState.DELETED:
        raise _gone(f"run {run.id} was deleted; its TaskRun and build pod were deleted with it")
    view = await _taskrun(ctx, run)
    if view is None:
        if run.state in (RunState.PENDING, RunState.BUILDING):
            raise _not_yet(f"the build of run {run.id} has no TaskRun yet (run state {run.state.value})")
        if run.taskrun_uid is None:
            build = run.step(StepName.BUILD)
            raise LogsUnavailable(404, "no_pod", f"run {run.id} never had a TaskRun ({build.reason}: "
                                                 f"{build.message}): there are no build logs")
        raise _gone(f"the build pod no longer exists: TaskRun {taskrun_name(run.id)} was pruned or deleted "
                    f"from {namespace}, and its pod with it")
    name, pod_name = view.metadata.name, view.status.pod_name
    pod = await _pod(ctx.kube, namespace, pod_name) if pod_name else None
    if pod is None and not pod_name:
        found = await ctx.kube.list("v1", "Pod", namespace=namespace, labels={TASKRUN_POD_LABEL: name})
        pod = found[0] if found else None
    if pod is None:
        condition = view.succeeded_condition
        ended = f"{condition.reason}: {condition.message}" if condition else "no condition"
        if view.outcome is Outcome.RUNNING:
            raise _not_yet(f"TaskRun {name} has no pod yet ({ended})")
        if pod_name:
            raise _gone(f"the build pod {pod_name} no longer exists: TaskRun {name} ended ({ended}) and its pod "
                        "was removed")
        raise LogsUnavailable(404, "no_pod", f"TaskRun {name} ended without a pod ({ended}): there are no build logs")
    steps = tuple((c, c.removeprefix(STEP_PREFIX)) for c in _containers(pod) if c.startswith(STEP_PREFIX))
    return PodLogs(ctx.kube, namespace, pod["metadata"]["name"], steps)


async def _pod(kube: Kube, namespace: str, name: str) -> KubeObject | None:
    try:
        return await kube.get("v1", "Pod", name, namespace)
    except NotFound:
        return None


_GONE_BECAUSE = {
    StepName.MIGRATION: "the migration Job's pods no longer exist (Kubernetes removes the Job a day after it "
                        "finishes, ttlSecondsAfterFinished, or it was deleted)",
    StepName.APP: "no pod of this run's app exists any more: a later run of the app replaced them, or they were "
                  "deleted",
}


async def _workspace_pods(ctx: ChainContext, run: Run, step: StepName) -> list[PodLogs]:
    state = run.step(step)
    if state.state is StepState.SKIPPED:
        raise LogsUnavailable(404, "no_such_step", f"the {step.value} step of run {run.id} was skipped: "
                                                   f"{state.message or state.reason}")
    if state.state is StepState.PENDING:
        if run.state.terminal:
            raise LogsUnavailable(404, "not_reached", f"run {run.id} ended ({run.state.value}: {run.reason}) "
                                                      f"before the {step.value} step")
        raise _not_yet(f"run {run.id} has not reached the {step.value} step (run state {run.state.value})")
    if run.state is RunState.DELETED:
        raise _gone(f"run {run.id} was deleted; its {step.value} pods were deleted with it")
    kube = await ctx.access.existing_kube(run.workspace)
    if kube is None:
        raise _gone(f"workspace {run.workspace} no longer exists; the {step.value} pods went with it")
    pods = await kube.list("v1", "Pod", namespace=naming.namespace(run),
                           labels={RUN_ID_LABEL: run.id, "app.kubernetes.io/component": step.value})
    if not pods:
        if state.state is StepState.RUNNING:
            raise _not_yet(f"the {step.value} step of run {run.id} has no pod yet")
        raise _gone(_GONE_BECAUSE[step])
    pods.sort(key=lambda pod: (pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"]))
    found = []
    for pod in pods:
        name, containers = pod["metadata"]["name"], _containers(pod)
        labelled = tuple((c, name if len(containers) == 1 else f"{name}/{c}") for c in containers)
        found.append(PodLogs(kube, naming.namespace(run), name, labelled))
    return found
