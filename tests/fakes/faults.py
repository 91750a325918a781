"""Fault injection and request recording for the fake Kubernetes API: failures, held requests, history."""

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass
class RecordedRequest:
    """One request as the fake received it, with the status it answered (None while still in flight)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None

    @property
    def data(self) -> Any:
        """The body parsed as JSON (or YAML for apply patches); None when empty."""
        if not self.body:
            return None
        if "yaml" in self.content_type:
            return yaml.safe_load(self.body)
        return json.loads(self.body)

    @property
    def is_apply(self) -> bool:
        return self.method == "PATCH" and self.content_type == "application/apply-patch+yaml"


def _pattern(path_regex: str | re.Pattern[str] | None) -> re.Pattern[str]:
    if path_regex is None:
        return re.compile("")
    return path_regex if isinstance(path_regex, re.Pattern) else re.compile(path_regex)


@dataclass
class _Rule:
    method: str | None
    path_regex: re.Pattern[str]
    times: int | None  # None: every matching request, forever
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return (self.method is None or self.method.upper() == method) and bool(self.path_regex.search(path))


@dataclass
class Fault(_Rule):
    """Answer matching requests with an error Status instead of serving them."""

    status: int = 500
    reason: str = "InternalError"
    message: str = "injected fault"
    retry_after: int | None = None


@dataclass
class Hold(_Rule):
    """Keep matching requests waiting until `release` is set; `arrived` is set when one is waiting."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class FaultBook:
    """The rules tests registered; the server consults it for each request, in registration order."""

    faults: list[Fault] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)

    def fail(
        self,
        *,
        method: str | None = None,
        path_regex: str | re.Pattern[str] | None = None,
        status: int = 500,
        times: int | None = 1,
        retry_after: int | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> Fault:
        fault = Fault(
            method,
            _pattern(path_regex),
            times,
            status=status,
            reason=reason or _REASONS.get(status, "InternalError"),
            message=message or f"injected fault: {status}",
            retry_after=retry_after,
        )
        self.faults.append(fault)
        return fault

    def delay(
        self,
        *,
        method: str | None = None,
        path_regex: str | re.Pattern[str] | None = None,
        times: int | None = 1,
        release: asyncio.Event | None = None,
    ) -> Hold:
        hold = Hold(method, _pattern(path_regex), times, release=release or asyncio.Event())
        self.holds.append(hold)
        return hold

    def clear(self) -> None:
        self.faults.clear()
        self.holds.clear()

    async def wait_if_held(self, method: str, path: str) -> None:
        for hold in self.holds:
            if hold.matches(method, path):
                hold.hits += 1
                hold.waiting += 1
                hold.arrived.set()
                try:
                    await hold.release.wait()
                finally:
                    hold.waiting -= 1

    def fault_for(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.hits += 1
                return fault
        return None
