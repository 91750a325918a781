"""Waits, with a deadline, until the cluster reports an object in the wanted state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...kube import Kube, KubeObject, NotFound
from ...models.clock import Clock
from ..runtime.outcomes import PermanentError

# A probe returns True (done), False (keep waiting) or raises PermanentError (it can never become ready).
Probe = Callable[[KubeObject], bool]


async def wait_for(
    kube: Kube, *, api_version: str, kind: str, namespace: str, name: str, probe: Probe,
    timeout: float, interval: float, reason: str, describe: Callable[[KubeObject | None], str], clock: Clock,
) -> KubeObject:
    """Reads the object until `probe` accepts it; PermanentError(reason) with a description on timeout."""
    deadline = clock.monotonic() + timeout
    last: KubeObject | None = None
    while True:
        try:
            last = await kube.get(api_version, kind, name, namespace)
        except NotFound:
            last = None
        if last is not None and probe(last):
            return last
        if clock.monotonic() >= deadline:
            raise PermanentError(f"{kind} {namespace}/{name} not ready after {timeout:.0f}s: {describe(last)}",
                                 reason=reason)
        await clock.sleep(interval)


def deployment_ready(obj: KubeObject) -> bool:
    spec: dict[str, Any] = obj.get("spec") or {}
    status: dict[str, Any] = obj.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    generation = int((obj.get("metadata") or {}).get("generation", 0))
    return (
        int(status.get("observedGeneration", 0)) >= generation
        and int(status.get("updatedReplicas", 0)) >= wanted
        and int(status.get("readyReplicas", 0)) >= wanted
    )


def describe_deployment(obj: KubeObject | None) -> str:
    if obj is None:
        return "the Deployment does not exist"
    status = obj.get("status") or {}
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    text = f"{status.get('readyReplicas', 0)}/{wanted} replicas ready"
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True" and condition.get("message"):
            text += f"; {condition.get('type')}: {condition['message']}"
    return text
