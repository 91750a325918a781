"""Error responses as JSON (`{"error", "message", "fields"}`) and the middleware that produces them."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

log = logging.getLogger("tekton_runner.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/cloudevents", "/openapi.json"})


def problem(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": error, "message": message, **extra}, status=status)


def field_errors(error: ValidationError, *, prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """Pydantic errors as {field, reason}: `app.name` and what is wrong with it."""
    fields = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in (*prefix, *item["loc"]) if not _is_union_tag(part))
        reason = item["msg"].removeprefix("Value error, ")
        fields.append({"field": location or "(body)", "reason": reason})
    return fields


def _is_union_tag(part: str | int) -> bool:
    return part in ("git", "zip", "local")


def invalid(error: ValidationError, *, prefix: tuple[str | int, ...] = ()) -> web.Response:
    fields = field_errors(error, prefix=prefix)
    summary = "; ".join(f"{item['field']}: {item['reason']}" for item in fields)
    return problem(422, "invalid", summary, fields=fields)


def invalid_field(field: str, reason: str) -> web.Response:
    return problem(422, "invalid", f"{field}: {reason}", fields=[{"field": field, "reason": reason}])


async def read_body(request: web.Request, *, limit: int) -> bytes | None:
    """The whole body, or None when it is longer than `limit` bytes.

    `request.content.read(n)` returns only what has arrived so far, so a body that reaches us in several
    pieces (as Tekton's larger CloudEvents do) has to be read until its end.
    """
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def read_json(request: web.Request, *, limit: int) -> Any | web.Response:
    """The JSON body, or the error response to send instead (415, 413, 400)."""
    if request.content_type != "application/json":
        return problem(415, "unsupported_media_type",
                       f"Content-Type must be application/json, not {request.content_type or 'missing'}")
    if request.content_length is not None and request.content_length > limit:
        return problem(413, "too_large", f"the body is larger than {limit} bytes")
    raw = await read_body(request, limit=limit)
    if raw is None:
        return problem(413, "too_large", f"the body is larger than {limit} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        return problem(400, "malformed_json", f"the body is not valid JSON: {error}")


def middleware(token: str | None) -> Middleware:
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def errors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        open_path = request.path in OPEN_PATHS or request.path.startswith("/sources/archive/")
        if expected is not None and not open_path:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _unauthorized()
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            return problem(error.status, error.reason.lower().replace(" ", "_"), error.text or error.reason)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem(500, "internal", "an internal error occurred; see the runner's log")

    return errors_and_auth


def _unauthorized() -> web.Response:
    response = problem(401, "unauthorized", "a valid bearer token is required")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response
