"""Error responses as JSON (`{"error", "message", "fields"}`), body reading with limits, and the middleware."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError

from .keys import SETTINGS

log = logging.getLogger("tekton_runner.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# No request the API accepts nests deeper than 5 levels (a run's app.env values); 32 leaves room and keeps
# every parser and validator far from Python's recursion limit.
MAX_JSON_DEPTH = 32
HEADER_TEXT = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
# Headers of an HTTP error that the JSON body replaces; the others (Allow, Retry-After...) are kept.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding"})

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/cloudevents", "/openapi.json"})
# The sink behind its secret path (Tekton sends no bearer token) and the build's one-time archive links.
OPEN_PREFIXES = ("/cloudevents/", "/sources/archive/")


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


def invalid(error: ValidationError, *, prefix: tuple[str | int, ...] = (), status: int = 422) -> web.Response:
    fields = field_errors(error, prefix=prefix)
    summary = "; ".join(f"{item['field']}: {item['reason']}" for item in fields)
    return problem(status, "invalid", summary, fields=fields)


def invalid_field(field: str, reason: str) -> web.Response:
    return problem(422, "invalid", f"{field}: {reason}", fields=[{"field": field, "reason": reason}])


class BodyTimeout(Exception):
    """The client sent no part of its body for the configured time; the middleware answers 408."""


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The body as it arrives, each read bounded by `body_read_timeout` so a stalled client is let go."""
    timeout = request.app[SETTINGS].body_read_timeout
    while True:
        try:
            async with asyncio.timeout(timeout):
                chunk = await request.content.readany()
        except TimeoutError:
            raise BodyTimeout(f"no part of the body arrived for {timeout:g} seconds") from None
        if not chunk:
            return
        yield chunk


async def read_body(request: web.Request, *, limit: int) -> bytes | None:
    """The whole body, or None when it is longer than `limit` bytes.

    `request.content.read(n)` returns only what has arrived so far, so a body that reaches us in several
    pieces (as Tekton's larger CloudEvents do) has to be read until its end.
    """
    body = bytearray()
    async for chunk in body_chunks(request):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def header_text(value: str) -> bool:
    """A header value of visible ASCII (inner spaces allowed), as an id or key stored by the runner must be."""
    return HEADER_TEXT.fullmatch(value) is not None


def nesting_depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value, walked without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:
            pending.extend((child, depth + 1) for child in children)
    return deepest


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
    too_deep = problem(400, "malformed_json", f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(raw, parse_constant=_not_json)
    except RecursionError:  # the C parser gives up on very deep nesting before we can count it
        return too_deep
    except (ValueError, UnicodeDecodeError) as error:
        return problem(400, "malformed_json", f"the body is not valid JSON: {error}")
    if nesting_depth(parsed) > MAX_JSON_DEPTH:
        return too_deep
    try:  # "\ud800" is valid JSON syntax but no text: nothing downstream (SQLite, YAML) could store it
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return problem(400, "malformed_json", "the body holds a lone UTF-16 surrogate escape, which is not text")
    return parsed


def middleware(token: str | None) -> Middleware:
    expected = f"Bearer {token}".encode() if token else None

    @web.middleware
    async def errors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        open_path = request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES)
        if expected is not None and not open_path:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _unauthorized()
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            response = problem(error.status, error.reason.lower().replace(" ", "_"), error.text or error.reason)
            response.headers.extend((k, v) for k, v in error.headers.items() if k.lower() not in _BODY_HEADERS)
            return response
        except BodyTimeout as error:
            log.info("%s %s: %s; answering 408 and closing", request.method, request.path, error)
            response = problem(408, "request_timeout", str(error))
            response.force_close()
            return response
        except asyncio.CancelledError:  # the client went away and aiohttp cancelled the handler
            log.info("%s %s: the client went away", request.method, request.path)
            raise
        except ConnectionResetError:
            # The client went away mid-body: nothing is wrong with the runner, and nobody reads this answer
            # (499 is the status access logs use for a request the client closed).
            log.info("%s %s: the client went away before its request was read", request.method, request.path)
            return problem(499, "client_closed_request", "the client closed the connection")
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem(500, "internal", "an internal error occurred; see the runner's log")

    return errors_and_auth


def _unauthorized() -> web.Response:
    response = problem(401, "unauthorized", "a valid bearer token is required")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response
