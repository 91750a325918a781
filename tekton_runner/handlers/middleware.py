"""The middleware every request passes: the bearer token, and every error answered as JSON; app.py installs it.

Handlers raise the service layer's typed errors (see failures.py for their answers), aiohttp's HTTP errors or
BodyTimeout; anything else is logged and answered 500 without detail.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..service.errors import ServiceError
from .failures import problem_for
from .problems import BodyTimeout, problem

log = logging.getLogger("tekton_runner.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/cloudevents", "/openapi.json", "/ui"})
# The sink behind its secret path (Tekton sends no bearer token), the build's one-time archive links, and the
# web page's script and style (they hold no data: the page asks for the token and sends it with each call).
OPEN_PREFIXES = ("/cloudevents/", "/sources/archive/", "/ui/")
# Headers of an HTTP error that the JSON body replaces; the others (Allow, Retry-After...) are kept.
_BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding"})


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
        except ServiceError as error:
            return problem_for(error)
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
