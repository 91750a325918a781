"""A TaskRun as Tekton's CloudEvents carry it, for tests that send events in the place of Tekton."""

from __future__ import annotations

import copy
from typing import Any

Json = dict[str, Any]


def taskrun_event_data(taskrun: Json, **status: Any) -> Json:
    """The event's data: the TaskRun without apiVersion/kind, results under the v1beta1 name taskResults;
    `status` keys, when given, replace the TaskRun's own status (a forger's ending)."""
    body = copy.deepcopy(taskrun)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    if status:
        body["status"] = status
    else:
        carried = body.setdefault("status", {})
        carried["taskResults"] = carried.pop("results", [])
    return {"taskRun": body}
