"""Readiness (the database answers, the API server is reachable) and the replica's role; for /readyz and /healthz."""

from __future__ import annotations

from ..chain.runtime.leadership import Leadership
from ..kube import Kube, KubeError
from ..store.runs import RunStore


class HealthChecks:
    def __init__(self, runs: RunStore, kube: Kube, leadership: Leadership) -> None:
        self._runs = runs
        self._kube = kube
        self._leadership = leadership

    @property
    def role(self) -> str:
        """single (election off), leader or follower: what this replica runs besides the API."""
        return self._leadership.role.value

    async def checks(self) -> dict[str, str]:
        """Each dependency with `ok` or `failed: <why>`."""
        checks: dict[str, str] = {}
        try:
            await self._runs.list(limit=1)
            checks["database"] = "ok"
        except Exception as error:  # any database failure means not ready
            checks["database"] = f"failed: {error}"
        try:
            await self._kube.version()
            checks["kubernetes"] = "ok"
        except KubeError as error:
            checks["kubernetes"] = f"failed: {error.message}"
        return checks
