"""How runs look in API responses."""

from __future__ import annotations

from typing import Any

from ..models.runs import Run


def run_view(run: Run, *, brief: bool = False) -> dict[str, Any]:
    links = {"self": f"/runs/{run.id}"}
    if run.endpoint is not None:
        links["endpoint"] = f"/endpoint?workspace={run.workspace}&app={run.app}"
    view: dict[str, Any] = {
        "run_id": run.id,
        "state": run.state.value,
        "reason": run.reason,
        "message": run.message,
        "workspace": run.workspace,
        "app": run.app,
        "links": links,
    }
    if brief:
        return view
    view.update({
        "image": run.image,
        "digest": run.digest,
        "deployed_image": run.pinned_image if run.digest else run.image,
        "event_id": run.event_id,
        "taskrun_uid": run.taskrun_uid,
        "endpoint": run.endpoint.model_dump(mode="json") if run.endpoint else None,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "steps": [step.model_dump(mode="json") for step in run.steps],
        "spec": run.spec.model_dump(mode="json"),
    })
    return view
