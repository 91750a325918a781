"""A request body that reaches the runner in several pieces is read to its end, not cut at the first piece.

Tekton's events controller sends a finished TaskRun's CloudEvent in more than one TCP segment often enough
that the end-to-end webhook test met it: the runner answered 400 and only the resync finished the run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from tests.integration.harness import BUILD_NS, Harness, spec


def in_pieces(body: bytes, pieces: int = 3) -> AsyncIterator[bytes]:
    """The body as a chunked upload whose pieces arrive apart, as over a real network."""
    size = -(-len(body) // pieces)

    async def send() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start:start + size]
            await asyncio.sleep(0.05)  # traffic pacing so the pieces arrive apart, not synchronisation
    return send()


def successful_event(taskrun: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    data = {k: v for k, v in taskrun.items() if k not in ("apiVersion", "kind")}
    data["status"] = {**data["status"], "taskResults": data["status"].get("results", [])}
    headers = {
        "Ce-Id": str(uuid.uuid4()), "Ce-Specversion": "1.0",
        "Ce-Source": f"/apis///namespaces/{BUILD_NS}//{taskrun['metadata']['name']}",
        "Ce-Type": "dev.tekton.event.taskrun.successful.v1", "Content-Type": "application/json",
    }
    return json.dumps({"taskRun": data}).encode(), headers


async def test_cloudevent_arriving_in_pieces_is_accepted_and_deploys(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    body, headers = successful_event(harness.finish_taskrun(run_id))
    response = await harness.http.post("/cloudevents", data=in_pieces(body), headers=headers)
    assert response.status == 202, await response.text()
    await harness.settle()
    assert (await harness.run(run_id))["state"] == "succeeded"


async def test_run_request_arriving_in_pieces_is_accepted(harness: Harness) -> None:
    body = json.dumps(spec()).encode()
    response = await harness.http.post("/run", data=in_pieces(body), headers={"Content-Type": "application/json"})
    assert response.status == 202, await response.text()


async def test_body_past_the_limit_in_pieces_is_refused(harness: Harness) -> None:
    limit = harness.settings.max_request_bytes
    body = json.dumps({**spec(), "padding": "x" * limit}).encode()
    response = await harness.http.post("/run", data=in_pieces(body), headers={"Content-Type": "application/json"})
    assert response.status == 413, await response.text()
