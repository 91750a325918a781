"""The aiohttp side of the fake Kubernetes API: records each request, applies faults, answers discovery."""

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import paths
from tests.fakes.faults import Fault, FaultBook, RecordedRequest
from tests.fakes.resources import ResourceRegistry
from tests.fakes.store import ApiError
from tests.fakes.verbs import Verbs

VERSION_INFO = {
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.0-fake",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _status_response(error: ApiError) -> web.Response:
    return web.json_response(error.status(), status=error.code)


def _fault_response(fault: Fault) -> web.Response:
    error = ApiError(fault.status, fault.reason, fault.message)
    if fault.retry_after is not None:
        error.details["retryAfterSeconds"] = fault.retry_after
    response = _status_response(error)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


@dataclass
class KubeHandler:
    """One catch-all request handler over a registry, the verbs and the fault book."""

    registry: ResourceRegistry
    verbs: Verbs
    faults: FaultBook
    requests: list[RecordedRequest]
    crashes: list[Exception] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            content_type=request.headers.get("Content-Type", "").split(";")[0].strip().lower(),
            body=raw,
            headers=dict(request.headers),
        )
        self.requests.append(record)
        await self.faults.wait_if_held(request.method, request.path)
        fault = self.faults.fault_for(request.method, request.path)
        where = paths.parse(request.path)
        try:
            if fault is not None:
                response: web.StreamResponse = _fault_response(fault)
            elif isinstance(where, paths.ResourcePath) and self.verbs.is_watch(request.method, record.query):
                return await self._stream(request, record, where)
            elif isinstance(where, paths.ResourcePath) and Verbs.is_log_follow(request.method, where, record.query):
                return await self._stream_log(request, record, where)
            else:
                response = self._serve(request.method, record)
        except ApiError as error:
            response = _status_response(error)
        except Exception as exc:  # a bug in the fake: answer like the server would, and let the fixture fail
            self.crashes.append(exc)
            response = _status_response(ApiError(500, "InternalError", f"the fake Kubernetes API failed: {exc!r}"))
        record.status = response.status
        return response

    async def _stream(
        self, request: web.Request, record: RecordedRequest, where: paths.ResourcePath
    ) -> web.StreamResponse:
        """A watch: one JSON event per line until timeoutSeconds, the fake ends watches, or the client leaves."""
        events = self.verbs.watch(where, record.query)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        record.status = 200
        seconds = record.query.get("timeoutSeconds")
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            async with contextlib.aclosing(events), asyncio.timeout(float(seconds) if seconds else None):
                async for event in events:
                    await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
        return response

    async def _stream_log(
        self, request: web.Request, record: RecordedRequest, where: paths.ResourcePath
    ) -> web.StreamResponse:
        """A followed container log: chunks as they are written, until the container ends or anyone leaves."""

        def alive() -> bool:
            return request.transport is not None and not request.transport.is_closing()

        chunks = self.verbs.follow_log(where, record.query, alive)
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        record.status = 200
        with contextlib.suppress(ConnectionResetError):
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    await response.write(chunk)
            await response.write_eof()
        return response

    def _serve(self, method: str, record: RecordedRequest) -> web.Response:
        if record.path.rstrip("/") == "/version" and method == "GET":  # the client asks for /version/
            return web.json_response(VERSION_INFO)
        where = paths.parse(record.path)
        if where is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if isinstance(where, paths.DiscoveryPath):
            if method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on discovery documents")
            return web.json_response(self._discovery(where, record))
        code, body = self.verbs.serve(method, where, record.query, record.content_type, record.body)
        if isinstance(body, str):
            return web.Response(text=body, status=code, content_type="text/plain")
        return web.Response(text=json.dumps(body), status=code, content_type="application/json")

    def _discovery(self, where: paths.DiscoveryPath, record: RecordedRequest) -> dict[str, Any]:
        if where.core and where.version is None:
            host = record.headers.get("Host", "127.0.0.1")
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
            }
        if where.core or (where.group is not None and where.version is not None):
            return self.registry.discovery(where.group or "", where.version or "v1")
        groups = self.registry.groups()
        if where.group is None:
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        for group in groups:
            if group["name"] == where.group:
                return group
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
