"""With no IMAGE_DIGEST result anywhere, the digest comes from the registry (Harbor-style token auth)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.integration.harness import Harness, spec

DIGEST = "sha256:" + "cd" * 32


@pytest_asyncio.fixture
async def registry() -> AsyncIterator[TestServer]:
    """A registry that wants a bearer token from its token service, as Harbor does."""
    app = web.Application()

    async def manifest(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer pull-token":
            realm = f"http://{request.host}/service/token"
            return web.Response(status=401, headers={
                "WWW-Authenticate": f'Bearer realm="{realm}",service="harbor-registry"'})
        if request.match_info["tag"] != "v7":
            return web.Response(status=404)
        return web.Response(headers={"Docker-Content-Digest": DIGEST})

    async def token(request: web.Request) -> web.Response:
        assert request.query["scope"] == "repository:library/shop:pull"
        if request.headers.get("Authorization") != "Basic cm9ib3Q6cHc=":  # robot:pw, the configured robot
            return web.Response(status=401)
        return web.json_response({"token": "pull-token"})

    app.router.add_route("HEAD", "/v2/{repository:.+}/manifests/{tag}", manifest)
    app.router.add_get("/service/token", token)
    server = TestServer(app)
    await server.start_server()
    yield server
    await server.close()


async def test_digest_is_read_from_the_registry(harness: Harness, registry: TestServer) -> None:
    await harness.stop()
    await harness.start(registry=f"127.0.0.1:{registry.port}/library", workspaces={
        "registry_http": True, "registry_username": "robot", "registry_password": "pw"})
    image = {"repository": f"127.0.0.1:{registry.port}/library/shop", "tag": "v7"}
    run_id = (await harness.post_run(spec(image=image, dependency={"type": "none"},
                                          migration={"enabled": False})))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id, digest=None), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded" and run["digest"] == DIGEST
    app = harness.fake.get_object("deployments", "shop", "ws-demo")
    assert app is not None
    assert app["spec"]["template"]["spec"]["containers"][0]["image"] == f"{image['repository']}@{DIGEST}"


async def test_unknown_digest_deploys_by_tag_and_says_so(harness: Harness, registry: TestServer) -> None:
    await harness.stop()
    await harness.start(registry=f"127.0.0.1:{registry.port}/library", workspaces={
        "registry_http": True, "registry_username": "robot", "registry_password": "pw"})
    image = {"repository": f"127.0.0.1:{registry.port}/library/shop", "tag": "missing"}
    run_id = (await harness.post_run(spec(image=image, dependency={"type": "none"},
                                          migration={"enabled": False})))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id, digest=None), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "succeeded" and run["digest"] is None
    build = next(step for step in run["steps"] if step["name"] == "build")
    assert "deploying by tag" in build["message"]
    app = harness.fake.get_object("deployments", "shop", "ws-demo")
    assert app is not None
    assert app["spec"]["template"]["spec"]["containers"][0]["image"] == f"{image['repository']}:missing"
