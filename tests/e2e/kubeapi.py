"""A small async client for the local API server, so e2e tests read objects straight from it.

Plain REST over aiohttp with the admin client certificate from the local plane's kubeconfig; the
tests assert what the API server holds, never what the runner says it did.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml

T = TypeVar("T")

Obj = dict[str, Any]


class Deadline(AssertionError):
    pass


async def poll(what: str, probe: Callable[[], Awaitable[T | None]], within: float,
               interval: float = 0.2) -> T:
    """Call `probe` until it returns something truthy, failing the test at the deadline."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Deadline(f"no {what} within {within:.0f}s")
        await asyncio.sleep(interval)


def ssl_from_kubeconfig(path: Path) -> tuple[str, ssl.SSLContext]:
    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
    ctx.load_cert_chain(user["client-certificate"], user["client-key"])
    return cluster["server"], ctx


class KubeAPI:
    def __init__(self, kubeconfig: Path) -> None:
        self.server, self._ssl = ssl_from_kubeconfig(kubeconfig)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeAPI:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl), timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use KubeAPI as an async context manager"
        return self._session

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self.session.request(method, self.server + path, data=data, headers=headers) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else None
            except json.JSONDecodeError:
                return resp.status, text

    async def get(self, path: str) -> Obj | None:
        status, body = await self.request("GET", path)
        if status == 404:
            return None
        assert status == 200, f"GET {path}: {status} {body}"
        result: Obj = body
        return result

    async def list(self, path: str, label_selector: str | None = None) -> list[Obj]:
        query = f"?labelSelector={label_selector}" if label_selector else ""
        body = await self.get(path + query)
        return list((body or {}).get("items", []))

    async def create(self, path: str, obj: Obj) -> Obj:
        status, body = await self.request("POST", path, obj)
        assert status in (200, 201), f"POST {path}: {status} {body}"
        result: Obj = body
        return result

    async def merge_patch(self, path: str, patch: Obj) -> Obj:
        status, body = await self.request("PATCH", path, patch, "application/merge-patch+json")
        assert status == 200, f"PATCH {path}: {status} {body}"
        result: Obj = body
        return result

    async def delete(self, path: str) -> None:
        status, body = await self.request("DELETE", path)
        assert status in (200, 202, 404), f"DELETE {path}: {status} {body}"

    # -- conveniences the tests share ----------------------------------------------------------

    async def ensure_namespace(self, name: str) -> None:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        status, body = await self.request("POST", "/api/v1/namespaces", namespace)
        assert status in (201, 409), f"create namespace {name}: {status} {body}"
        await poll(f"ServiceAccount default in {name}",
                   lambda: self.get(f"/api/v1/namespaces/{name}/serviceaccounts/default"), 60)

    async def set_events_sink(self, sink: str, tekton_namespace: str = "tekton-pipelines") -> None:
        await self.merge_patch(f"/api/v1/namespaces/{tekton_namespace}/configmaps/config-events",
                               {"data": {"sink": sink, "formats": "tektonv1"}})

    async def events_for(self, namespace: str, kind: str, name: str) -> builtins.list[Obj]:
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        body = await self.get(f"/api/v1/namespaces/{namespace}/events?fieldSelector={selector}")
        return list((body or {}).get("items", []))


def condition(obj: Obj | None, kind: str) -> Obj | None:
    for cond in (obj or {}).get("status", {}).get("conditions", []) or []:
        if cond.get("type") == kind:
            found: Obj = cond
            return found
    return None


def taskrun_path(namespace: str, name: str = "") -> str:
    base = f"/apis/tekton.dev/v1/namespaces/{namespace}/taskruns"
    return f"{base}/{name}" if name else base
