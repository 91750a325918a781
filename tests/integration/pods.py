"""Pods as Tekton and the workspace controllers would make them, seeded into the fake API for log tests."""

from __future__ import annotations

from typing import Any

from tests.fakes import FakeKubeApi
from tests.integration.harness import BUILD_NS

Json = dict[str, Any]
BUILD_STEPS = ("step-fetch-source", "step-build-and-push")


def _statuses(containers: tuple[str, ...], state: str) -> list[Json]:
    detail: Json = {"terminated": {"exitCode": 0, "reason": "Completed"}} if state == "terminated" else {state: {}}
    return [{"name": name, "state": detail} for name in containers]


def put_pod(fake: FakeKubeApi, namespace: str, name: str, containers: tuple[str, ...], *,
            labels: dict[str, str] | None = None, state: str = "terminated", created: str = "2026-11-26T10:00:00Z",
            init: tuple[str, ...] = ()) -> Json:
    return fake.put_object({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "creationTimestamp": created},
        "spec": {"initContainers": [{"name": c, "image": "busybox"} for c in init],
                 "containers": [{"name": c, "image": "busybox"} for c in containers]},
        "status": {"phase": "Succeeded" if state == "terminated" else "Running",
                   "containerStatuses": _statuses(containers, state)},
    })


def set_container_state(fake: FakeKubeApi, namespace: str, pod: str, container: str, state: str) -> None:
    """Changes one container's state, as the kubelet reports it (a follow of it ends on `terminated`)."""
    obj = fake.get_object("pods", pod, namespace)
    assert obj is not None
    statuses = [
        status if status["name"] != container else _statuses((container,), state)[0]
        for status in obj["status"]["containerStatuses"]
    ]
    fake.set_status("pods", pod, {"containerStatuses": statuses}, namespace=namespace, merge=True)


def put_build_pod(fake: FakeKubeApi, run_id: str, *, state: str = "terminated", with_pod_name: bool = True) -> str:
    """The build pod of `build-<run id>` (init containers and a sidecar hold no step output)."""
    name = f"build-{run_id}-pod"
    put_pod(fake, BUILD_NS, name, (*BUILD_STEPS, "sidecar-registry"), state=state,
            labels={"tekton.dev/taskRun": f"build-{run_id}"}, init=("prepare", "place-scripts"))
    if with_pod_name:
        fake.set_status("taskruns", f"build-{run_id}", {"podName": name}, namespace=BUILD_NS, merge=True)
    return name
