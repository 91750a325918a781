"""Bad requests get a 4xx naming the field and the reason, and leave nothing stored or sent."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.integration.harness import Harness, spec


def _without(key: str) -> dict[str, Any]:
    body = spec()
    body.pop(key)
    return body


INVALID = [
    ("app.name", {**spec(), "app": {"name": "Shop_1"}}),
    ("workspace", {**spec(), "workspace": "-demo"}),
    ("workspace", _without("workspace")),
    ("source", {**spec(), "source": {"type": "svn", "url": "https://x/y"}}),
    ("source.url", {**spec(), "source": {"type": "git", "url": "file:///etc/passwd"}}),
    ("source.url", {**spec(), "source": {"type": "git", "url": "http://insecure.example.com/x.git"}}),
    ("source.context", {**spec(), "source": {"type": "git", "url": "https://h/x.git", "context": "../up"}}),
    ("migration", {**spec(), "dependency": {"type": "redis"}}),
    ("migration.command", {**spec(), "migration": {"enabled": True}}),
    ("dependency.type", {**spec(), "dependency": {"type": "mongo"}}),
    ("dependencies", {**spec(), "dependencies": ["mongo"]}),
    ("dependencies", {**spec(), "dependencies": ["redis", "redis"]}),
    ("dependency", {**spec(), "dependencies": ["redis", "rabbitmq"]}),  # disagrees with dependency.type both
    ("app.env", {**spec(), "app": {"name": "shop", "env": {"AMQP_URL": "x"}}}),
    ("app.port", {**spec(), "app": {"name": "shop", "port": 70000}}),
    ("app.env", {**spec(), "app": {"name": "shop", "env": {"DATABASE_URL": "x"}}}),
    ("app.env", {**spec(), "app": {"name": "shop", "env": {"1BAD": "x"}}}),
    ("image.tag", {**spec(), "image": {"tag": "bad tag"}}),
    ("surprise", {**spec(), "surprise": True}),
    ("source.upload_id", {**spec(), "source": {"type": "zip", "upload_id": "u-0123456789abcdef"}}),
    ("source.path", {**spec(), "source": {"type": "local", "path": "/etc"}}),
]


@pytest.mark.parametrize(("field", "body"), INVALID, ids=[f"{field}-{i}" for i, (field, _) in enumerate(INVALID)])
async def test_invalid_field_is_named_in_a_422(harness: Harness, field: str, body: dict[str, Any]) -> None:
    response = await harness.http.post("/run", json=body)
    assert response.status == 422, await response.text()
    payload = await response.json()
    assert field in [item["field"] for item in payload["fields"]], payload
    assert all(item["reason"] for item in payload["fields"])
    await _nothing_changed(harness)


async def test_malformed_json_is_400(harness: Harness) -> None:
    response = await harness.http.post("/run", data=b'{"workspace": ', headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"] == "malformed_json"
    await _nothing_changed(harness)


async def test_wrong_content_type_is_415(harness: Harness) -> None:
    response = await harness.http.post("/run", data=json.dumps(spec()), headers={"Content-Type": "text/plain"})
    assert response.status == 415
    await _nothing_changed(harness)


async def test_oversized_body_is_413(harness: Harness) -> None:
    body = spec(app={"name": "shop", "env": {f"V{i}": "y" * 30000 for i in range(40)}})
    payload = io.BytesIO(json.dumps(body).encode())
    response = await harness.http.post("/run", data=payload, headers={"Content-Type": "application/json"})
    assert response.status == 413
    await _nothing_changed(harness)


async def test_json_that_is_not_an_object_is_422(harness: Harness) -> None:
    response = await harness.http.post("/run", json=[1, 2])
    assert response.status == 422
    await _nothing_changed(harness)


async def test_missing_token_is_401_when_a_token_is_set(harness: Harness) -> None:
    await harness.stop()
    await harness.start(token="s3cret")
    response = await harness.http.post("/run", json=spec())
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    wrong = await harness.http.get("/runs", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    for open_path in ("/healthz", "/metrics", "/openapi.json"):
        assert (await harness.http.get(open_path)).status == 200, open_path
    ok = await harness.http.post("/run", json=spec(), headers={"Authorization": "Bearer s3cret"})
    assert ok.status == 202


async def test_requested_port_owned_by_another_app_is_409(harness: Harness) -> None:
    first = await harness.run_to_success(spec(expose={"external_port": 18739}))
    assert first["endpoint"]["external_port"] == 18739
    response = await harness.http.post("/run", json=spec(app={"name": "other"}, expose={"external_port": 18739}))
    assert response.status == 409
    payload = await response.json()
    assert "demo/shop" in payload["message"] and payload["fields"][0]["field"] == "expose.external_port"
    assert len((await (await harness.http.get("/runs")).json())["runs"]) == 1


async def test_unknown_run_is_404(harness: Harness) -> None:
    assert (await harness.http.get("/runs/r-0000000000000000")).status == 404
    assert (await harness.http.get("/runs/../../etc")).status == 404


async def _nothing_changed(harness: Harness) -> None:
    listing = await (await harness.http.get("/runs")).json()
    assert listing["runs"] == []
    assert harness.listener.received == []
