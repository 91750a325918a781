"""Resolves `<registry>/<repository>:<tag>` to its manifest digest, with Harbor's bearer-token challenge."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

import aiohttp

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
    registry, _, rest = image.partition("/")
    if not rest or ("." not in registry and ":" not in registry and registry != "localhost"):
        raise RegistryError(f"{image!r} does not name a registry host")
    repository, tag = rest, "latest"
    if rest.rfind(":") > rest.rfind("/"):
        repository, tag = rest[: rest.rfind(":")], rest[rest.rfind(":") + 1:]
    return Reference(registry, repository, tag)


class RegistryClient:
    def __init__(self, session: aiohttp.ClientSession, *, scheme: str = "https", verify_tls: bool = True,
                 username: str | None = None, password: str | None = None, timeout: float = 10.0) -> None:
        self._session = session
        self._scheme = scheme
        self._ssl: ssl.SSLContext | bool = True if verify_tls else False
        self._auth = aiohttp.BasicAuth(username, password or "") if username else None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def digest(self, image: str) -> str:
        """The digest the registry serves for the image's tag; RegistryError when it cannot tell."""
        ref = parse_reference(image)
        url = f"{self._scheme}://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag}"
        headers = {"Accept": MANIFEST_TYPES}
        try:
            status, digest, challenge = await self._head(url, headers)
            if status == 401 and challenge:
                headers["Authorization"] = await self._token(challenge, ref)
                status, digest, _ = await self._head(url, headers)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RegistryError(f"registry {ref.registry} unreachable: {error!r}") from error
        if status != 200:
            raise RegistryError(f"registry answered {status} for {ref.repository}:{ref.tag}")
        if not digest or not _DIGEST.match(digest):
            raise RegistryError(f"registry gave no usable digest for {ref.repository}:{ref.tag}")
        return digest

    async def _head(self, url: str, headers: dict[str, str]) -> tuple[int, str | None, str | None]:
        auth = self._auth if "Authorization" not in headers else None
        async with self._session.head(url, headers=headers, auth=auth, ssl=self._ssl,
                                      timeout=self._timeout) as response:
            return (response.status, response.headers.get("Docker-Content-Digest"),
                    response.headers.get("WWW-Authenticate"))

    async def _token(self, challenge: str, ref: Reference) -> str:
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self._auth is None:
                raise RegistryError(f"registry {ref.registry} wants credentials")
            return self._auth.encode()
        fields = dict(_CHALLENGE.findall(params))
        if "realm" not in fields:
            raise RegistryError(f"registry {ref.registry} sent an unusable challenge: {challenge}")
        query = {"service": fields.get("service", ""), "scope": f"repository:{ref.repository}:pull"}
        async with self._session.get(fields["realm"], params=query, auth=self._auth, ssl=self._ssl,
                                     timeout=self._timeout) as response:
            if response.status != 200:
                raise RegistryError(f"token service answered {response.status}")
            body = await response.json(content_type=None)
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise RegistryError("token service gave no token")
        return f"Bearer {token}"
