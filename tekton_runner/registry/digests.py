"""Resolves `<registry>/<repository>:<tag>` to its manifest digest, with Harbor's bearer-token challenge."""

from __future__ import annotations

import base64
import re
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from ..models.images import ImageReference

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class RegistryError(Exception):
    pass


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str


def parse_reference(image: str) -> Reference:
    """`lenovo:8443/library/shop:r-1` -> registry, repository and tag (tag `latest` when absent)."""
    try:
        parsed = ImageReference.parse(image)
    except ValueError as error:
        raise RegistryError(str(error)) from error
    if parsed.registry is None:
        raise RegistryError(f"{image!r} does not name a registry host")
    return Reference(parsed.registry, parsed.repository, parsed.tag or "latest")


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def host_of(url_or_host: str) -> str:
    """`https://Harbor.example:443/service/token` -> `harbor.example:443`; a bare `host[:port]` is lowered."""
    parts = urlsplit(url_or_host if "//" in url_or_host else f"//{url_or_host}")
    return (parts.netloc.rpartition("@")[2]).lower()


class RegistryClient:
    """Reads digests; the configured credentials go only to the configured registry host and token realms.

    `host` is the registry the runner was configured for (exact host and port). A digest asked of any
    other host is read anonymously over verified https; a 401 challenge naming a token realm gets the
    credentials only when the realm is on `host` itself or listed in `token_realms`.
    """

    def __init__(self, session: aiohttp.ClientSession, *, host: str, scheme: str = "https",
                 verify_tls: bool = True, username: str | None = None, password: str | None = None,
                 token_realms: tuple[str, ...] = (), ssl_context: ssl.SSLContext | None = None,
                 timeout: float = 10.0) -> None:
        self._session = session
        self._host = host_of(host)
        self._scheme = scheme
        self._verified: ssl.SSLContext | bool = ssl_context or True  # every host but ours: always verified
        self._ssl: ssl.SSLContext | bool = self._verified if verify_tls else False
        self._basic = basic_authorization(username, password or "") if username else None
        self._realms = frozenset(realm.rstrip("/") for realm in token_realms)
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _ours(self, registry: str) -> bool:
        return host_of(registry) == self._host

    async def digest(self, image: str) -> str:
        """The digest the registry serves for the image's tag; RegistryError when it cannot tell."""
        ref = parse_reference(image)
        ours = self._ours(ref.registry)
        scheme = self._scheme if ours else "https"
        url = f"{scheme}://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag}"
        headers = {"Accept": MANIFEST_TYPES}
        try:
            status, digest, challenge = await self._head(url, headers, ours=ours)
            if status == 401 and challenge:
                headers["Authorization"] = await self._token(challenge, ref, ours=ours)
                status, digest, _ = await self._head(url, headers, ours=ours)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RegistryError(f"registry {ref.registry} unreachable: {error!r}") from error
        if status != 200:
            raise RegistryError(f"registry answered {status} for {ref.repository}:{ref.tag}")
        if not digest or not _DIGEST.match(digest):
            raise RegistryError(f"registry gave no usable digest for {ref.repository}:{ref.tag}")
        return digest

    async def _head(self, url: str, headers: dict[str, str], *, ours: bool) -> tuple[int, str | None, str | None]:
        if ours and self._basic and "Authorization" not in headers:
            headers = {**headers, "Authorization": self._basic}
        async with self._session.head(url, headers=headers, ssl=self._ssl if ours else self._verified,
                                      timeout=self._timeout, allow_redirects=False) as response:
            return (response.status, response.headers.get("Docker-Content-Digest"),
                    response.headers.get("WWW-Authenticate"))

    async def _token(self, challenge: str, ref: Reference, *, ours: bool) -> str:
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self._basic is None or not ours:
                raise RegistryError(f"registry {ref.registry} wants credentials")
            return self._basic
        fields = dict(_CHALLENGE.findall(params))
        realm = fields.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise RegistryError(f"registry {ref.registry} sent an unusable challenge: {challenge[:200]}")
        trusted = ours and (self._ours(parts.netloc) or realm.rstrip("/") in self._realms)
        if parts.scheme == "http" and not (trusted and self._scheme == "http"):
            raise RegistryError(f"registry {ref.registry} names a token service over plain http: {realm[:200]}")
        query = {"service": fields.get("service", ""), "scope": f"repository:{ref.repository}:pull"}
        headers = {"Authorization": self._basic} if trusted and self._basic else {}
        async with self._session.get(realm, params=query, headers=headers,
                                     ssl=self._ssl if trusted else self._verified, timeout=self._timeout,
                                     allow_redirects=False) as response:
            if response.status != 200:
                raise RegistryError(f"token service answered {response.status}")
            body = await response.json(content_type=None)
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise RegistryError("token service gave no token")
        return f"Bearer {token}"
