"""Values the schema does not allow are refused with the field named, never coerced, trimmed or stored.

Each case here was found by the schemathesis contract run: before, they answered 500 (SQLite cannot store a
lone surrogate), broke /metrics for good (a CloudEvent type that is not UTF-8), or were silently accepted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.served import send_partial, served
from tests.integration.stored import rows


async def _nothing_stored(harness: Harness) -> None:
    assert await rows(harness, "runs") == []
    assert harness.listener.received == []


async def test_idempotency_key_that_is_not_ascii_is_422(harness: Harness) -> None:
    body = json.dumps(spec()).encode()
    async with served(harness) as (host, port):
        head = (f"POST /run HTTP/1.1\nHost: {host}:{port}\nContent-Type: application/json\n"
                f"Content-Length: {len(body)}\nIdempotency-Key: \u00ff\u00fe\nConnection: close\n")  # sent as UTF-8
        reader, writer = await send_partial(host, port, head, body)
        try:
            answer = await reader.read()
        finally:
            writer.close()
    assert answer.startswith(b"HTTP/1.1 422"), answer
    assert b'"field": "Idempotency-Key"' in answer
    await _nothing_stored(harness)


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDFFF", "x\\udbff"])
async def test_lone_surrogate_in_json_is_400(harness: Harness, escape: str) -> None:
    body = json.dumps(spec()).replace('"hello"', f'"{escape}"')
    response = await harness.http.post("/run", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    await _nothing_stored(harness)


@pytest.mark.parametrize(("escape", "text"), [("\\ud83d\\ude00", "\U0001f600"), ("\\\\ud800", "\\ud800")])
async def test_a_surrogate_pair_or_an_escaped_backslash_is_text(harness: Harness, escape: str, text: str) -> None:
    body = json.dumps(spec()).replace('"hello"', f'"{escape}"')
    response = await harness.http.post("/run", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 202, await response.text()
    run = await harness.run((await response.json())["run_id"])
    assert run["spec"]["app"]["env"]["GREETING"] == text


@pytest.mark.parametrize(("field", "change"), [
    ("migration.enabled", {"migration": {"enabled": 1, "command": ["x"]}}),
    ("app.port", {"app": {"name": "shop", "port": "8080"}}),
    ("app.replicas", {"app": {"name": "shop", "replicas": True}}),
    ("expose.external_port", {"expose": {"external_port": "18080"}}),
    ("workspace", {"workspace": " demo"}),
    ("app.name", {"app": {"name": "shop\n"}}),
])
async def test_values_are_not_coerced_or_trimmed(harness: Harness, field: str, change: dict[str, Any]) -> None:
    response = await harness.http.post("/run", json={**spec(), **change})
    assert response.status == 422, await response.text()
    assert field in [item["field"] for item in (await response.json())["fields"]]
    await _nothing_stored(harness)


async def test_integral_json_numbers_are_integers(harness: Harness) -> None:
    response = await harness.http.post("/run", json=spec(app={"name": "shop", "port": 8080.0}))
    assert response.status == 202, await response.text()
    assert (await harness.run((await response.json())["run_id"]))["spec"]["app"]["port"] == 8080


async def test_limit_that_is_not_a_number_is_422(harness: Harness) -> None:
    response = await harness.http.get("/runs", params={"limit": "ten"})
    assert response.status == 422
    assert (await response.json())["fields"][0]["field"] == "limit"


def _event_headers(**changes: str) -> dict[str, str]:
    headers = {"Ce-Id": str(uuid.uuid4()), "Ce-Specversion": "1.0", "Ce-Source": f"/apis/{BUILD_NS}",
               "Ce-Type": "dev.tekton.event.taskrun.successful.v1", "Content-Type": "application/json"}
    headers.update(changes)
    return {name: value for name, value in headers.items() if value}


@pytest.mark.parametrize("missing", ["Ce-Id", "Ce-Specversion", "Ce-Source", "Ce-Type"])
async def test_cloudevent_without_a_required_attribute_is_400(harness: Harness, missing: str) -> None:
    response = await harness.http.post("/cloudevents", data=b"{}", headers=_event_headers(**{missing: ""}))
    assert response.status == 400, await response.text()
    assert missing.lower().removeprefix("ce-") in (await response.json())["message"]
    assert await rows(harness, "events") == []


async def test_cloudevent_type_that_is_not_text_leaves_metrics_readable(harness: Harness) -> None:
    response = await harness.http.post("/cloudevents", data=b"{}", headers=_event_headers(**{"Ce-Type": "%ed%a0%80"}))
    assert response.status in (202, 400)
    metrics = await harness.http.get("/metrics")
    assert metrics.status == 200
    await metrics.read()
