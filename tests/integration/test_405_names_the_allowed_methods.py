"""A method a route does not serve gets 405 with an Allow header naming the ones it does, in the JSON error shape."""

from __future__ import annotations

import pytest

from tests.integration.harness import Harness
from tests.integration.stored import rows

CASES = [
    ("PUT", "/run", {"POST"}),
    ("DELETE", "/runs", {"GET", "HEAD"}),
    ("PATCH", "/runs/r-0000000000000000", {"GET", "HEAD", "DELETE"}),
    ("POST", "/healthz", {"GET", "HEAD"}),
    ("PUT", "/sources/archive/anything", {"GET", "HEAD"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
async def test_405_carries_allow(harness: Harness, method: str, path: str, allowed: set[str]) -> None:
    response = await harness.http.request(method, path, json={"workspace": "demo"})
    assert response.status == 405
    assert {item.strip() for item in response.headers["Allow"].split(",")} == allowed
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json())["error"] == "method_not_allowed"
    assert await rows(harness, "runs") == []
    assert harness.listener.received == []


async def test_405_carries_allow_behind_the_token(harness: Harness) -> None:
    await harness.stop()
    await harness.start(token="s3cret")
    response = await harness.http.put("/run", headers={"Authorization": "Bearer s3cret"})
    assert response.status == 405 and response.headers["Allow"] == "POST"
