"""With a bearer token set, the sink's secret path stays reachable without it: Tekton sends no credentials."""

from __future__ import annotations

import uuid

from tests.integration.harness import BUILD_NS, Harness


def _headers() -> dict[str, str]:
    return {"Ce-Id": str(uuid.uuid4()), "Ce-Specversion": "1.0", "Ce-Source": f"/apis/{BUILD_NS}",
            "Ce-Type": "dev.tekton.event.pipelinerun.started.v1", "Content-Type": "application/json"}


async def test_secret_sink_path_needs_no_bearer_token(harness: Harness) -> None:
    await harness.stop()
    await harness.start(token="s3cret", events_path_secret="p4th-secret-0123456789")
    right = await harness.http.post("/cloudevents/p4th-secret-0123456789", data=b"{}", headers=_headers())
    assert right.status == 202, await right.text()
    wrong = await harness.http.post("/cloudevents/guess", data=b"{}", headers=_headers())
    assert wrong.status == 404
    assert (await harness.http.post("/cloudevents", data=b"{}", headers=_headers())).status == 404
    assert (await harness.http.get("/runs")).status == 401  # the token still guards the API
