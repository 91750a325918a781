"""The runner's own Kubernetes error types; the only place that interprets ApiException."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException


class KubeError(Exception):
    """An API call failed; `status` is the HTTP code (0 when no answer came)."""

    temporary = False

    def __init__(self, message: str, *, status: int = 0, reason: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    temporary = True


class Invalid(KubeError):
    """The server rejected the object (400/422): retrying the same request cannot help."""


class Forbidden(KubeError):
    pass


class Unavailable(KubeError):
    """Throttled, overloaded, unreachable or timed out: worth retrying later."""

    temporary = True


def _status_message(body: str | bytes | None) -> tuple[str, str]:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return str(body or "")[:500], ""
    if not isinstance(payload, dict):
        return str(payload)[:500], ""
    return str(payload.get("message", "")), str(payload.get("reason", ""))


def translate(error: BaseException) -> KubeError:
    """Maps a client exception to the runner's error type."""
    if isinstance(error, KubeError):
        return error
    if isinstance(error, ApiException):
        message, reason = _status_message(error.body)
        message = message or str(error.reason or "")
        status = int(error.status or 0)
        retry_after: float | None = None
        headers: dict[str, str] = dict(error.headers or {})
        header = headers.get("Retry-After")
        if header and header.isdigit():
            retry_after = float(header)
        kind: type[KubeError]
        if status == 404:
            kind = NotFound
        elif status == 409:
            kind = Conflict
        elif status in (400, 422):
            kind = Invalid
        elif status in (401, 403):
            kind = Forbidden
        elif status == 429 or status >= 500 or status == 0:
            kind = Unavailable
        else:
            kind = Invalid
        return kind(message, status=status, reason=reason or str(error.reason or ""), retry_after=retry_after)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return Unavailable(f"API server unreachable: {error!r}")
    raise error
