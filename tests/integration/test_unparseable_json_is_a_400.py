"""JSON nested too deep or otherwise unparseable is a 400 on every JSON route, and nothing is stored or sent."""

from __future__ import annotations

import uuid

import pytest

from tekton_runner.handlers.problems import MAX_JSON_DEPTH
from tests.integration.harness import Harness, spec
from tests.integration.stored import rows

JSON_ROUTES = ["/run", "/apps"]
DEEP = b"[" * 100_000 + b"]" * 100_000


async def _assert_nothing_stored(harness: Harness) -> None:
    assert await rows(harness, "runs") == []
    assert await rows(harness, "apps") == []
    assert harness.listener.received == []
    assert harness.fake.applies() == []


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("body", [
    DEEP,
    b'{"workspace": ' * 50_000,
    b'{"workspace": "demo", "app": ' + b'{"name": ' * (MAX_JSON_DEPTH + 1) + b'"x"' + b"}" * (MAX_JSON_DEPTH + 2),
    b'{"workspace": "\xff\xfe"}',
    b'{"workspace": NaN}',
    b"",
], ids=["100000-deep", "deep-and-cut", "one-past-the-limit", "not-utf8", "nan", "empty"])
async def test_unparseable_or_too_deep_body_is_400(harness: Harness, path: str, body: bytes) -> None:
    response = await harness.http.post(path, data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    assert (await response.json())["error"] == "malformed_json"
    await _assert_nothing_stored(harness)


async def test_nesting_up_to_the_limit_is_parsed_and_judged_on_its_fields(harness: Harness) -> None:
    nested: object = "x"
    for _ in range(MAX_JSON_DEPTH - 3):  # inside the body, app and env objects: exactly the limit
        nested = [nested]
    response = await harness.http.post("/run", json={**spec(), "app": {"name": "shop", "env": {"A": nested}}})
    assert response.status == 422  # parsed, then refused by the model, not by the parser
    assert (await response.json())["fields"][0]["field"].startswith("app.env")
    await _assert_nothing_stored(harness)


async def test_deep_cloudevent_is_400(harness: Harness) -> None:
    headers = {"Ce-Id": str(uuid.uuid4()), "Ce-Specversion": "1.0", "Ce-Source": "/x",
               "Ce-Type": "dev.tekton.event.taskrun.successful.v1", "Content-Type": "application/json"}
    response = await harness.http.post("/cloudevents", data=b'{"taskRun": ' + DEEP + b"}", headers=headers)
    assert response.status == 400, await response.text()
    await _assert_nothing_stored(harness)
