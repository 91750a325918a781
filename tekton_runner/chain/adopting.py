"""Push builds: a TaskRun made by a registered app's webhook Trigger becomes a run like any /run."""

from __future__ import annotations

import logging

from ..models.ids import RunId
from ..models.runs import StepName, StepState
from ..models.taskruns import GIT_REVISION_LABEL, TaskRunView
from ..store.database import utcnow
from ..store.runs import RunExists, RunNotFound
from .context import ChainContext

log = logging.getLogger("tekton_runner.apps")


async def adopt(ctx: ChainContext, view: TaskRunView) -> RunId | None:
    """The run the push TaskRun stands for, recorded on first sight; None for an app not registered.

    The run id comes from the TaskRun's uid, so every event and every resync finds the same run.
    """
    run_id = view.run_id
    if run_id is None or view.app_id is None:
        return None
    try:
        await ctx.runs.get(run_id)
        return RunId(run_id)
    except RunNotFound:
        pass
    registered = await ctx.apps.get(view.app_id)
    if registered is None:
        return None
    created = view.metadata.creation_timestamp
    # Kubernetes timestamps have whole seconds: compare at that precision.
    if created is not None and created < registered.created_at.replace(microsecond=0):
        return None  # built for an earlier registration of this app id: never deploy it now
    revision = view.metadata.labels.get(GIT_REVISION_LABEL) or view.result("SOURCE_REVISION") or "unknown"
    spec = registered.registration.run_spec(revision)
    image = view.param("IMAGE") or f"{registered.image_repository}:{revision}"
    try:
        run = await ctx.runs.create(RunId(run_id), spec, image)
    except RunExists:
        return RunId(run_id)
    build = run.step(StepName.BUILD).model_copy(update={
        "state": StepState.RUNNING, "reason": "Pushed", "started_at": utcnow(), "attempts": 1,
        "message": f"git push of {revision[:12]} to {registered.registration.source.branch}"
                   f" (TaskRun {view.metadata.namespace}/{view.metadata.name})",
    })
    await ctx.runs.accept(run.id, None, build)
    log.info("run %s recorded for a push to app %s (%s)", run.id, registered.id, revision[:12])
    return run.id
