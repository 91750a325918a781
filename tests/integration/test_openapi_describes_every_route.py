"""/openapi.json names every route the runner serves, with its parameters and bodies, and its security as configured."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator

from tests.integration.harness import Harness

Json = dict[str, Any]


def served_routes(app: web.Application) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path and route.method != "*":
            routes.add((route.method.lower(), path))
    return routes


async def _document(harness: Harness) -> Json:
    response = await harness.http.get("/openapi.json")
    assert response.status == 200
    return dict(await response.json())


async def test_every_served_route_is_in_the_document(harness: Harness) -> None:
    document = await _document(harness)
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    served = served_routes(harness.http.app)
    # aiohttp answers HEAD on every GET route; HTTP defines it as GET without a body, so only the archive
    # link, where HEAD behaves differently from GET (it does not use the link up), documents it.
    implicit = {("head", path) for method, path in served if method == "get"} - {("head", "/sources/archive/{token}")}
    assert served - implicit == described


async def test_operations_carry_parameters_bodies_and_answers(harness: Harness) -> None:
    paths = (await _document(harness))["paths"]
    assert {p["name"] for p in paths["/runs"]["get"]["parameters"]} == {"state", "workspace", "app", "limit", "cursor"}
    assert [p["name"] for p in paths["/runs/{run_id}"]["get"]["parameters"]] == ["run_id"]
    assert paths["/run"]["post"]["parameters"][0]["name"] == "Idempotency-Key"
    assert paths["/run"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunSpec"}
    assert "application/zip" in paths["/sources"]["post"]["requestBody"]["content"]
    for path, item in paths.items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                assert "content" in answer or method == "head", (method, path, status)


async def test_security_follows_the_token_setting(harness: Harness) -> None:
    open_document = await _document(harness)
    assert "securitySchemes" not in open_document["components"]
    assert all("401" not in op["responses"] for item in open_document["paths"].values() for op in item.values())
    await harness.stop()
    await harness.start(token="s3cret")
    secured = await _document(harness)
    assert secured["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert secured["paths"]["/run"]["post"]["security"] == [{"bearer": []}]
    assert "401" in secured["paths"]["/run"]["post"]["responses"]
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/cloudevents", "/sources/archive/{token}"):
        for operation in secured["paths"][path].values():
            assert operation["security"] == [], path


async def test_answers_match_their_documented_schema(harness: Harness) -> None:
    """Spot check of the generated shapes against what the handlers send (the contract run does the rest)."""
    document = await _document(harness)
    run = await harness.run_to_success({
        "workspace": "demo", "app": {"name": "shop"},
        "source": {"type": "git", "url": "https://git.example.com/team/shop.git"}})
    validate(run, "RunDetail", document)
    validate(await (await harness.http.get("/runs")).json(), "RunList", document)
    endpoint = await harness.http.get("/endpoint", params={"workspace": "demo", "app": "shop"})
    validate(await endpoint.json(), "EndpointView", document)
    validate(await (await harness.http.get("/external-map")).json(), "ExternalMap", document)
    validate(await (await harness.http.get("/workspaces")).json(), "WorkspaceList", document)
    missing = await harness.http.get("/runs/r-0000000000000000")
    validate(await missing.json(), "Error", document)


def validate(instance: Any, name: str, document: Json) -> None:
    """Validates `instance` against a component schema of the document (JSON Schema 2020-12, as OpenAPI 3.1)."""
    root = {"components": document["components"], "$ref": f"#/components/schemas/{name}"}
    Draft202012Validator(root).validate(instance)
