"""Reads TaskRuns for the resync by label selector, limited to what is live: one LIST per page of runs.

Requested builds are listed by `tekton-runner.io/run-id in (...)` for the live runs of a page, push builds
by `tekton-runner.io/app-id in (...)` for the registered apps, so a resync's API calls and objects grow with
live runs and registered apps, not with every TaskRun the runner ever caused. Called by the orchestrator.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...models.taskruns import APP_ID_LABEL, RUN_ID_LABEL, TaskRunView
from ..context import ChainContext

# Values per `in (...)` selector: keeps the LIST's URL short (a run id is 18 characters).
SELECTOR_VALUES = 100


async def taskruns_of_runs(ctx: ChainContext, run_ids: Sequence[str]) -> dict[str, TaskRunView]:
    """The requested builds of these runs, by run id; raises KubeError when they cannot be listed."""
    views = await _list(ctx, RUN_ID_LABEL, run_ids)
    return {view.run_id: view for view in views if view.run_id and not view.pushed}


async def push_taskruns(ctx: ChainContext, app_ids: Sequence[str]) -> list[TaskRunView]:
    """The push builds of these registered apps; raises KubeError when they cannot be listed."""
    return [view for view in await _list(ctx, APP_ID_LABEL, app_ids) if view.pushed and view.app_id]


async def _list(ctx: ChainContext, label: str, values: Sequence[str]) -> list[TaskRunView]:
    views: list[TaskRunView] = []
    for start in range(0, len(values), SELECTOR_VALUES):
        chunk = values[start:start + SELECTOR_VALUES]
        items = await ctx.kube.list("tekton.dev/v1", "TaskRun", namespace=ctx.settings.build_namespace,
                                    label_in=(label, chunk))
        views += [TaskRunView.model_validate(item) for item in items]
    return views
