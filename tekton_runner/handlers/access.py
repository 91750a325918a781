"""The access log: one line per request, with secrets in paths masked; used by `tekton-runner serve`."""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

# A sink secret (/cloudevents/<secret>) or a one-time archive token must not end up in log files.
_SECRET_SEGMENT = re.compile(r"^(/cloudevents/|/sources/archive/)[^/?]+")


def redact(path: str) -> str:
    return _SECRET_SEGMENT.sub(r"\1***", path)


class AccessLogger(AbstractAccessLogger):
    @property
    def enabled(self) -> bool:
        """aiohttp neither times nor formats a request whose line would not be written."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %d %.1fms", request.remote, request.method, redact(request.path),
                         response.status, time * 1000)


access_log = logging.getLogger("tekton_runner.access")
