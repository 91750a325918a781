"""Reads whether objects a step applied are ready yet, and if not why: one read per object and one list of
its pods (chain/diagnosis.py), no waiting here. A permanent reason (a crash loop, an image the node can never
pull) fails the step at once instead of waiting out TEKTON_RUNNER_READY_TIMEOUT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...kube import Kube, KubeObject, NotFound
from ...models.runs import Run
from ..diagnosis import Diagnosis, diagnose
from ..runtime.outcomes import PermanentError, StepOutcome


@dataclass(frozen=True)
class NotReady:
    """What is not ready, and what its pods say about why (None: they say nothing is wrong)."""

    message: str
    diagnosis: Diagnosis | None = None


def redeploy_hint(run: Run) -> str:
    return f"then redeploy the run: POST /runs/{run.id}/redeploy (tekton-runner redeploy {run.id})"


async def unready_deployment(kube: Kube, namespace: str, name: str, pods: Mapping[str, str],
                             then: str = "") -> NotReady | None:
    """None when the Deployment is ready; otherwise what it says, and what its pods (`pods`: their labels) say."""
    try:
        found: KubeObject | None = await kube.get("apps/v1", "Deployment", name, namespace)
    except NotFound:
        found = None
    if found is not None and deployment_ready(found):
        return None
    message = f"Deployment {namespace}/{name}: {describe_deployment(found)}"
    diagnosis = await diagnose(kube, namespace, pods, then=then) if found is not None else None
    return NotReady(f"{message}; {diagnosis.message}" if diagnosis else message, diagnosis)


def not_ready_outcome(subject: str, not_ready: NotReady, *, reason: str, delay: float,
                      timeout_reason: str | None = None) -> StepOutcome:
    """Fails the step with `<subject><problem>` when the pods' trouble is permanent; else waits (`reason`),
    and names the trouble last seen as the failure reason should the wait time out."""
    diagnosis = not_ready.diagnosis
    if diagnosis is not None and diagnosis.permanent:
        raise PermanentError(not_ready.message, reason=f"{subject}{diagnosis.problem.value}")
    if diagnosis is not None:
        timeout_reason = f"{subject}{diagnosis.problem.value}"
    return StepOutcome.wait(reason, not_ready.message, delay=delay, timeout_reason=timeout_reason)


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
