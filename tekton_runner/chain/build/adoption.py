"""Push builds: a TaskRun made by a registered app's webhook Trigger becomes a run like any /run."""

from __future__ import annotations

import logging

from ...models.apps import RegisteredApp
from ...models.ids import RunId
from ...models.runs import Step, StepName, StepState
from ...models.taskruns import GIT_REVISION_LABEL, TaskRunView
from ...store.runs import RunNotFound
from ..context import ChainContext

log = logging.getLogger("tekton_runner.apps")


async def adopt(ctx: ChainContext, view: TaskRunView, registered: RegisteredApp, image: str) -> RunId | None:
    """The run the push TaskRun stands for, recorded on first sight.

    `view` comes from the API server and has passed `trust.check_push_build`, which also gave `image`.
    The run id comes from the TaskRun's uid, so every event and every resync finds the same run.
    """
    run_id = view.run_id
    if run_id is None:
        return None
    try:
        await ctx.runs.get(run_id)
        return RunId(run_id)
    except RunNotFound:
        pass
    revision = view.metadata.labels.get(GIT_REVISION_LABEL) or view.result("SOURCE_REVISION") or "unknown"
    spec = registered.registration.run_spec(revision)
    build = Step(name=StepName.BUILD, state=StepState.RUNNING, reason="Pushed", started_at=ctx.clock.now(), attempts=1,
                 message=f"git push of {revision[:12]} to {registered.registration.source.branch}"
                         f" (TaskRun {view.metadata.namespace}/{view.metadata.name})")
    if not await ctx.status.push_recorded(RunId(run_id), spec, image, build):
        return RunId(run_id)
    log.info("run %s recorded for a push to app %s (%s)", run_id, registered.id, revision[:12])
    return RunId(run_id)
