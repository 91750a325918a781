"""What a deployed run leaves in ws-<workspace>, read from the API server."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.buildrequests import decide, wait_running
from tests.e2e.kubeapi import KubeAPI, Obj, condition, poll, taskrun_path

SUCCESSFUL = "dev.tekton.event.taskrun.successful.v1"


def new_workspace(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def digest_message(digest: str) -> str:
    """A step termination message carrying the IMAGE_DIGEST task result (Tekton's format, type 1)."""
    return f'[{{"key":"IMAGE_DIGEST","value":"{digest}","type":1}}]'


async def deployment(kube: KubeAPI, namespace: str, name: str) -> Obj | None:
    return await kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")


async def available(kube: KubeAPI, namespace: str, name: str, within: float = 60) -> Obj:
    async def probe() -> Obj | None:
        obj = await deployment(kube, namespace, name)
        cond = condition(obj, "Available")
        return obj if cond and cond["status"] == "True" else None
    return await poll(f"Deployment {namespace}/{name} Available", probe, within)


async def jobs_of_run(kube: KubeAPI, namespace: str, run_id: str) -> list[Obj]:
    return await kube.list(f"/apis/batch/v1/namespaces/{namespace}/jobs", f"tekton-runner.io/run-id={run_id}")


async def taskrun_done(kube: KubeAPI, namespace: str, run_id: str, within: float = 90) -> Obj:
    async def probe() -> Obj | None:
        obj = await kube.get(taskrun_path(namespace, f"build-{run_id}"))
        cond = condition(obj, "Succeeded")
        return obj if cond and cond["status"] != "Unknown" else None
    return await poll(f"TaskRun build-{run_id} to finish", probe, within)


def result(taskrun: Obj, name: str) -> str | None:
    for item in taskrun.get("status", {}).get("results", []) or []:
        if item["name"] == name:
            value: str = item["value"]
            return value
    return None


async def cloud_events_sent(kube: KubeAPI, namespace: str, taskrun: str, ce_type: str) -> int:
    """How often Tekton's events controller recorded a delivered CloudEvent of ce_type (2xx from the sink)."""
    events = await kube.events_for(namespace, "TaskRun", taskrun)
    return sum(int(e.get("count") or 1) for e in events
               if e.get("reason") == "CloudEventSent" and e.get("message") == f"Sent {ce_type}")


async def settle_held_pods(kube: KubeAPI, namespace: str, owner_kind: str, outcome: str,
                           message: str | None = None) -> list[str]:
    """Decide every Running, undecided pod owned by owner_kind in namespace; return their names."""
    decided = []
    for pod in await kube.list(f"/api/v1/namespaces/{namespace}/pods"):
        owners = {o["kind"] for o in pod["metadata"].get("ownerReferences", [])}
        undecided = "kwok.tekton-runner.io/outcome" not in (pod["metadata"].get("annotations") or {})
        if owner_kind in owners and undecided and pod["status"].get("phase") == "Running":
            await decide(kube, namespace, pod["metadata"]["name"], outcome, message)
            decided.append(pod["metadata"]["name"])
    return decided


async def held_pod(kube: KubeAPI, namespace: str, owner_kind: str, within: float = 90) -> Obj:
    async def probe() -> Obj | None:
        for pod in await kube.list(f"/api/v1/namespaces/{namespace}/pods"):
            owners = {o["kind"] for o in pod["metadata"].get("ownerReferences", [])}
            if owner_kind in owners and pod["status"].get("phase") == "Running":
                return pod
        return None
    pod = await poll(f"a Running pod owned by a {owner_kind} in {namespace}", probe, within)
    return await wait_running(kube, namespace, pod["metadata"]["name"])


async def build_then_hold_migration(kube: KubeAPI, build_namespace: str, namespace: str, digest: str) -> None:
    """The run's held build pod succeeds with `digest`; returns once its migration Job's pod is held (the
    chain waits there until the test settles it)."""
    await held_pod(kube, build_namespace, "TaskRun")
    await settle_held_pods(kube, build_namespace, "TaskRun", "succeed", digest_message(digest))
    await held_pod(kube, namespace, "Job")


def image_param(taskrun: Obj) -> str:
    params: list[dict[str, Any]] = taskrun["spec"]["params"]
    value: str = next(p["value"] for p in params if p["name"] == "IMAGE")
    return value
