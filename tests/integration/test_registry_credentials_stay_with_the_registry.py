"""The registry credentials reach the configured registry host and its token service, and nobody else.

Two TLS servers on loopback, both trusted through the same test CA: `ours` is the registry the runner is
configured for, `capture` poses as another registry and as a token realm and records every request.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
import pytest_asyncio
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from tekton_runner.registry import RegistryClient, RegistryError

DIGEST = "sha256:" + "cd" * 32
USER, PASSWORD = "robot$ci", "s3cret"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass
class Registry:
    """A registry with a token service; `realm` is the URL its 401 challenges name."""

    server: TestServer | None = None
    realm: str = ""
    challenge: str = "Bearer"
    redirect_to: str = ""
    token: str = "pull-token"  # what its token service issues and its manifests accept
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, Authorization

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.port}"

    def app(self) -> web.Application:
        async def manifest(request: web.Request) -> web.Response:
            self.seen.append((request.method, request.path, request.headers.get("Authorization")))
            if self.redirect_to:
                return web.Response(status=307, headers={"Location": self.redirect_to})
            accepted = f"Bearer {self.token}" if self.challenge == "Bearer" else BASIC
            if request.headers.get("Authorization") != accepted:
                header = (f'Bearer realm="{self.realm}",service="harbor-registry"'
                          if self.challenge == "Bearer" else 'Basic realm="registry"')
                return web.Response(status=401, headers={"WWW-Authenticate": header})
            return web.Response(headers={"Docker-Content-Digest": DIGEST})

        async def token(request: web.Request) -> web.Response:
            self.seen.append((request.method, request.path, request.headers.get("Authorization")))
            return web.json_response({"token": self.token})

        app = web.Application()
        app.router.add_route("HEAD", "/v2/{repository:.+}/manifests/{tag}", manifest)
        app.router.add_get("/service/token", token)
        return app

    def credentials_seen(self) -> list[str]:
        return [path for _, path, authorization in self.seen if authorization == BASIC]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _serve(registry: Registry, ca: trustme.CA) -> TestServer:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server = TestServer(registry.app(), host="127.0.0.1")
    await server.start_server(ssl=server_context)
    registry.server = server
    return server


@asynccontextmanager
async def served_registry(ca: trustme.CA) -> AsyncIterator[Registry]:
    """A registry stand-in over TLS whose token realm is on its own host."""
    registry = Registry()
    server = await _serve(registry, ca)
    registry.realm = f"https://{registry.host}/service/token"
    try:
        yield registry
    finally:
        await server.close()


@pytest_asyncio.fixture
async def ours(ca: trustme.CA) -> AsyncIterator[Registry]:
    async with served_registry(ca) as registry:
        yield registry


@pytest_asyncio.fixture
async def capture(ca: trustme.CA) -> AsyncIterator[Registry]:
    """Another host, which must never see the configured credentials."""
    async with served_registry(ca) as registry:
        yield registry


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(session: aiohttp.ClientSession, ca: trustme.CA, host: str, **options: object) -> RegistryClient:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return RegistryClient(session, host=host, username=USER, password=PASSWORD, ssl_context=context,
                          **options)  # type: ignore[arg-type]


async def test_configured_registry_and_its_token_service_get_the_credentials(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry) -> None:
    """The positive control: without it, every 'nothing was sent' below could pass by accident."""
    digest = await client(session, ca, ours.host).digest(f"{ours.host}/library/shop:v1")
    assert digest == DIGEST
    assert ours.credentials_seen() == ["/v2/library/shop/manifests/v1", "/service/token"]


async def test_image_on_another_host_is_read_without_credentials(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    digest = await client(session, ca, ours.host).digest(f"{capture.host}/library/shop:v1")
    assert digest == DIGEST  # anonymous pulls still work
    assert [path for _, path, _ in capture.seen] == ["/v2/library/shop/manifests/v1", "/service/token",
                                                     "/v2/library/shop/manifests/v1"]
    assert capture.credentials_seen() == [] and ours.seen == []


async def test_same_host_on_another_port_is_another_registry(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    assert ours.host.split(":")[0] == capture.host.split(":")[0]
    await client(session, ca, ours.host).digest(f"{capture.host}/library/shop:v1")
    assert capture.credentials_seen() == []


async def test_token_realm_on_another_host_gets_no_credentials(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    ours.realm, capture.token = capture.realm, "anonymous"
    with pytest.raises(RegistryError, match="401"):  # the anonymous token is not good for our registry
        await client(session, ca, ours.host).digest(f"{ours.host}/library/shop:v1")
    assert [path for _, path, _ in capture.seen] == ["/service/token"]
    assert capture.credentials_seen() == []


async def test_token_realm_configured_by_name_gets_the_credentials(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    ours.realm = capture.realm
    registry = client(session, ca, ours.host, token_realms=(capture.realm,))
    assert await registry.digest(f"{ours.host}/library/shop:v1") == DIGEST
    assert capture.credentials_seen() == ["/service/token"]


async def test_plain_http_realm_is_refused_before_anything_is_sent(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    ours.realm = f"http://{capture.host}/service/token"
    with pytest.raises(RegistryError, match="plain http"):
        await client(session, ca, ours.host).digest(f"{ours.host}/library/shop:v1")
    assert capture.seen == []


async def test_basic_challenge_from_another_host_gets_no_credentials(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    capture.challenge = "Basic"
    with pytest.raises(RegistryError, match="wants credentials"):
        await client(session, ca, ours.host).digest(f"{capture.host}/library/shop:v1")
    assert capture.credentials_seen() == []


async def test_redirect_from_our_registry_is_not_followed(
        session: aiohttp.ClientSession, ca: trustme.CA, ours: Registry, capture: Registry) -> None:
    ours.redirect_to = f"https://{capture.host}/v2/library/shop/manifests/v1"
    with pytest.raises(RegistryError, match="307"):
        await client(session, ca, ours.host).digest(f"{ours.host}/library/shop:v1")
    assert capture.seen == []
