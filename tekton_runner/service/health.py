"""Readiness: whether the database answers and the Kubernetes API server is reachable; for GET /readyz."""

from __future__ import annotations

from ..kube import Kube, KubeError
from ..store.runs import RunStore


class HealthChecks:
    def __init__(self, runs: RunStore, kube: Kube) -> None:
        self._runs = runs
        self._kube = kube

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
