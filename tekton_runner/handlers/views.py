"""How runs look in API responses, and JSON answers built from the models in models/api.py."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ..models.api import Answer, RunDetail, RunLinks, RunSummary
from ..models.runs import Run


def answer(model: Answer, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """The model as the JSON body, every field present (absent values as null)."""
    return web.json_response(model.model_dump(mode="json", by_alias=True), status=status, headers=headers)


def run_view(run: Run, *, brief: bool = False) -> RunSummary:
    links = RunLinks.model_validate({
        "self": f"/runs/{run.id}",
        "endpoint": f"/endpoint?workspace={run.workspace}&app={run.app}" if run.endpoint is not None else None,
    })
    summary = RunSummary(run_id=run.id, state=run.state, reason=run.reason, message=run.message,
                         workspace=run.workspace, app=run.app, links=links)
    if brief:
        return summary
    return RunDetail(
        **dict(summary), image=run.image, digest=run.digest,
        deployed_image=run.pinned_image if run.digest else run.image, event_id=run.event_id,
        taskrun_uid=run.taskrun_uid, endpoint=run.endpoint, created_at=run.created_at, updated_at=run.updated_at,
        steps=list(run.steps), spec=run.spec, redeploy_of=run.redeploy_of,
    )
