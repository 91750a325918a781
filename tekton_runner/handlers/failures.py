"""The HTTP answer for each typed error of the service layer; the middleware in problems.py calls it."""

from __future__ import annotations

import logging

from aiohttp import web

from ..service.errors import (
    Busy,
    ClusterUnreadable,
    Conflict,
    IdempotencyKeyReused,
    InvalidField,
    LogsNotAvailable,
    NotFound,
    NotRedeployable,
    PortTaken,
    ServiceError,
    TooLarge,
    TooManyLogFollows,
    TriggerFailed,
)
from .problems import invalid_field, problem

log = logging.getLogger("tekton_runner.http")


def problem_for(error: ServiceError) -> web.Response:
    """404 not found, 422 invalid field, 409 conflict, 413 too large, 502 cluster refused."""
    match error:
        case LogsNotAvailable(status=status, code=code):
            return problem(status, code, str(error))
        case TooManyLogFollows():
            busy = problem(429, "too_many_follows", str(error))
            busy.headers["Retry-After"] = "5"
            return busy
        case ClusterUnreadable():
            return problem(502, "kube_unavailable", str(error))
        case NotFound():
            return problem(404, "not_found", str(error))
        case InvalidField(field=field, reason=reason):
            return invalid_field(field, reason)
        case PortTaken():
            return problem(409, "port_taken", str(error), fields=[{"field": error.field, "reason": error.reason}])
        case NotRedeployable():
            return problem(409, "not_redeployable", str(error))
        case IdempotencyKeyReused():
            return problem(409, "idempotency_key_reused", str(error))
        case TooLarge():
            return problem(413, "too_large", str(error))
        case TriggerFailed():
            return problem(502, f"trigger_not_{error.action}", str(error))
        case Conflict():
            return problem(409, "conflict", str(error))
        case Busy():
            answer = problem(503, "busy", str(error))
            answer.headers["Retry-After"] = "5"
            return answer
    log.error("no HTTP answer defined for %s: %s", type(error).__name__, error)
    return problem(500, "internal", "an internal error occurred; see the runner's log")
