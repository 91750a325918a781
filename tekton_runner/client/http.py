"""RunnerClient: the runner's HTTP API as the CLI uses it; problem answers become RunnerError."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp

Json = dict[str, Any]
# Plain requests answer quickly; a log follow may stay quiet for long, so only its connection is timed.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10, sock_read=None)


@dataclass
class RunnerError(Exception):
    """The runner refused a request (its `{"error", "message", "fields"}` answer) or could not be reached."""

    status: int
    error: str
    message: str
    fields: list[Json] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"HTTP {self.status} {self.error}" if self.status else self.error
        lines = [f"{where}: {self.message}"]
        lines += [f"  {item.get('field')}: {item.get('reason')}" for item in self.fields
                  if str(item.get("reason")) not in self.message]
        return "\n".join(lines)


async def _problem(response: aiohttp.ClientResponse) -> RunnerError:
    text = await response.text(errors="replace")
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if isinstance(body, dict) and "message" in body:
        fields = body.get("fields") if isinstance(body.get("fields"), list) else []
        return RunnerError(response.status, str(body.get("error", "error")), str(body["message"]), fields or [])
    return RunnerError(response.status, response.reason or "error", text.strip()[:500] or "(no body)")


class RunnerClient:
    """One session with one runner; use as `async with RunnerClient(url, token) as client:`."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session = aiohttp.ClientSession(headers=headers, timeout=REQUEST_TIMEOUT)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._session.close()

    async def _json(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Json | None = None) -> Json:
        try:
            async with self._session.request(method, self.url + path, params=params, json=body) as response:
                if response.status >= 400:
                    raise await _problem(response)
                answer: Json = await response.json()
                return answer
        except aiohttp.ClientError as error:
            raise RunnerError(0, "unreachable", f"{self.url}: {error}") from error

    async def submit(self, spec: Json) -> Json:
        return await self._json("POST", "/run", body=spec)

    async def runs(self, **filters: str) -> Json:
        return await self._json("GET", "/runs", params={k: v for k, v in filters.items() if v})

    async def run(self, run_id: str) -> Json:
        return await self._json("GET", f"/runs/{run_id}")

    async def redeploy(self, run_id: str) -> Json:
        return await self._json("POST", f"/runs/{run_id}/redeploy")

    async def delete(self, run_id: str) -> Json:
        return await self._json("DELETE", f"/runs/{run_id}")

    async def endpoint(self, workspace: str, app: str) -> Json:
        return await self._json("GET", "/endpoint", params={"workspace": workspace, "app": app})

    @asynccontextmanager
    async def events(self, run_id: str, *, after: int = 0) -> AsyncIterator[AsyncIterator[Json]]:
        """The run's transitions after number `after` (GET /runs/{id}/events), ending when the run ends."""
        headers = {"Last-Event-ID": str(after)} if after else {}
        async with self._stream(f"/runs/{run_id}/events", headers=headers) as response:
            yield _messages(response)

    @asynccontextmanager
    async def logs(self, run_id: str, *, step: str = "build", follow: bool = False) -> AsyncIterator[
            AsyncIterator[str]]:
        """The log's lines (without their newline) as the runner streams them."""
        params = {"step": step, "follow": "1" if follow else "0"}
        async with self._stream(f"/runs/{run_id}/logs", params=params) as response:
            yield _lines(response)

    @asynccontextmanager
    async def _stream(self, path: str, *, params: Mapping[str, str] | None = None,
                      headers: Mapping[str, str] | None = None) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose answer is read as it arrives (no total timeout); problems become RunnerError."""
        try:
            async with self._session.get(self.url + path, params=params, headers=headers,
                                         timeout=STREAM_TIMEOUT) as response:
                if response.status >= 400:
                    raise await _problem(response)
                yield response
        except aiohttp.ClientError as error:
            raise RunnerError(0, "unreachable", f"{self.url}: {error}") from error


async def _messages(response: aiohttp.ClientResponse) -> AsyncIterator[Json]:
    """Server-Sent Events as dicts: the `data` JSON with the message's `id`; comments are skipped."""
    fields: dict[str, str] = {}
    async for raw in response.content:
        line = raw.decode(errors="replace").rstrip("\r\n")
        if line:
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            continue
        if "data" in fields:
            message: Json = json.loads(fields["data"])
            message["id"] = int(fields.get("id") or 0)
            yield message
        fields = {}


async def _lines(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    async for raw in response.content:
        yield raw.decode(errors="replace").rstrip("\n")
