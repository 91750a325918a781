"""Puts back what the cluster lost of a live app: the objects of each app's latest run, when it succeeded.

A live app is one whose newest run succeeded (a deleted or failed newest run means nothing is promised).
When its Deployment is gone (deleted by hand, or with its namespace), the resync ensures the workspace
again and re-applies the run's dependency, app and forward steps from the stored run; the migration is
not run again. Called by the orchestrator's resync; one read per live app and pass.
"""

from __future__ import annotations

import logging

from ...kube import KubeError, NotFound
from ...models.runs import Run, RunState, StepName
from ...workspaces import WorkspaceError
from .. import naming
from ..context import ChainContext
from ..runtime.outcomes import PermanentError, TemporaryError
from ..steps import STEPS

log = logging.getLogger("tekton_runner.chain")
RESTORED_STEPS = (StepName.DEPENDENCY, StepName.APP, StepName.FORWARD)


async def live_apps(ctx: ChainContext) -> list[Run]:
    """The newest run of every app whose newest run succeeded."""
    return await ctx.runs.newest_per_app(RunState.SUCCEEDED)


async def restore_missing(ctx: ChainContext) -> list[Run]:
    """Re-applies the objects of live apps whose Deployment is gone; returns the runs restored."""
    restored = []
    for run in await live_apps(ctx):
        try:
            kube = await ctx.access.kube(run.workspace)
            await kube.get("apps/v1", "Deployment", run.app, naming.namespace(run))
            continue
        except NotFound:
            pass
        except (KubeError, WorkspaceError) as error:
            log.warning("run %s: cannot tell whether app %s is still there: %s", run.id, run.app, error)
            continue
        log.warning("run %s: Deployment %s/%s is gone; applying the app's objects again", run.id,
                    naming.namespace(run), run.app)
        try:
            await ctx.access.ensure(run.workspace)
            for name in RESTORED_STEPS:
                await STEPS[name](ctx, run, run.step(name))  # applies; readiness is not waited for here
        except (KubeError, WorkspaceError, TemporaryError, PermanentError) as error:
            log.warning("run %s: restoring app %s stopped (the next resync tries again): %s", run.id, run.app,
                        error)
            continue
        restored.append(run)
    return restored
