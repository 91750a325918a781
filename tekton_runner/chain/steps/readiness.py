"""Reads whether objects a step applied are ready yet: one read per object, no waiting here."""

from __future__ import annotations

from typing import Any

from ...kube import Kube, KubeObject, NotFound


async def unready_deployment(kube: Kube, namespace: str, names: list[str]) -> str | None:
    """None when every named Deployment is ready; otherwise what the first one that is not says."""
    for name in names:
        try:
            found: KubeObject | None = await kube.get("apps/v1", "Deployment", name, namespace)
        except NotFound:
            found = None
        if found is None or not deployment_ready(found):
            return f"Deployment {namespace}/{name}: {describe_deployment(found)}"
    return None


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
