"""Error responses as JSON (`{"error", "message", "fields"}`) and request bodies read with limits."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from .keys import SETTINGS

# No request the API accepts nests deeper than 5 levels (a run's app.env values); 32 leaves room and keeps
# every parser and validator far from Python's recursion limit.
MAX_JSON_DEPTH = 32
HEADER_TEXT = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # where a lone UTF-16 surrogate could come from


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
    if request.content.is_eof():  # all of it arrived with the headers, as a small body usually does
        whole = request.content.read_nowait()
        return whole if len(whole) <= limit else None
    body = bytearray()
    async for chunk in body_chunks(request):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _too_deep() -> web.Response:
    return problem(400, "malformed_json", f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")


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
    try:
        parsed = json.loads(raw, parse_constant=_not_json)
    except RecursionError:  # the C parser gives up on very deep nesting before we can count it
        return _too_deep()
    except (ValueError, UnicodeDecodeError) as error:
        return problem(400, "malformed_json", f"the body is not valid JSON: {error}")
    # Each level opens with a bracket: a body with few of them cannot nest too deep, and is not walked.
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_DEPTH and nesting_depth(parsed) > MAX_JSON_DEPTH:
        return _too_deep()
    # "\ud800" is valid JSON syntax but no text: nothing downstream (SQLite, YAML) could store it. Only an
    # escape can bring one in (json.loads refuses bytes that are not UTF-8), so only then is the value walked.
    try:
        if SURROGATE_ESCAPE.search(raw):
            json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return problem(400, "malformed_json", "the body holds a lone UTF-16 surrogate escape, which is not text")
    return parsed
