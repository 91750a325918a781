"""Stands in for the controllers a real cluster runs, inside the fake API: NodePorts, readiness, Jobs, and
(when a test asks for it) the pods a Deployment or Job gets with what the kubelet reports of them."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import FakeKubeApi

Json = dict[str, Any]


COMPONENT = "app.kubernetes.io/component"


@dataclass(frozen=True)
class PodReport:
    """What the kubelet says of a pod's containers: each container's status (`state`, `lastState`,
    `restartCount`; name, image and ready are filled in), the pod's conditions, and the containers' logs."""

    status: Json
    conditions: tuple[Json, ...] = ()
    logs: dict[str, str] = field(default_factory=dict)  # container -> its current instance's log
    previous_logs: dict[str, str] = field(default_factory=dict)  # container -> the instance before the restart


def crash_looping(exit_code: int = 1, restarts: int = 3) -> Json:
    """A container the kubelet is waiting to restart after it exited again (CrashLoopBackOff)."""
    return {"restartCount": restarts, "state": {"waiting": {
        "reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": exit_code, "reason": "Error", "containerID": "containerd://c1"}}}


def waiting(reason: str, message: str) -> Json:
    return {"restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}


@dataclass
class Controllers:
    """Reacts synchronously to each apply, as far as the test allows it to."""

    fake: FakeKubeApi
    deployments_ready: bool = True
    unready: set[str] = field(default_factory=set)  # Deployments never marked ready, whatever the above says
    failing_jobs: set[str] = field(default_factory=set)
    next_node_port: int = 30080
    # By the pod template's component label (app, redis, postgres, migration): the Deployment or Job gets a
    # pod the kubelet reports this way, and is neither ready nor finished.
    pods: dict[str, PodReport] = field(default_factory=dict)

    def install(self) -> None:
        store = self.fake.store
        original = store.apply

        def apply(rtype: Any, namespace: str | None, name: str, body: Json, manager: str) -> Json:
            stored = original(rtype, namespace, name, body, manager)
            return self._react(rtype, namespace, name, stored)

        store.apply = apply  # type: ignore[method-assign]

    def _react(self, rtype: Any, namespace: str | None, name: str, obj: Json) -> Json:
        kind = obj.get("kind")
        if kind == "Service" and (obj.get("spec") or {}).get("type") == "NodePort":
            spec = copy.deepcopy(obj["spec"])
            changed = False
            for port in spec.get("ports", []):
                if not port.get("nodePort"):
                    port["nodePort"] = self.next_node_port
                    self.next_node_port += 1
                    changed = True
            if changed:
                obj = copy.deepcopy(obj)
                obj["spec"] = spec
                return self.fake.store.update(rtype, namespace, name, obj)
        template = (obj.get("spec") or {}).get("template") or {}
        report = self.pods.get(((template.get("metadata") or {}).get("labels") or {}).get(COMPONENT, ""))
        if kind in ("Deployment", "Job") and report is not None:
            self.put_pod(namespace or "", name, kind, template, report)
            return obj
        if kind == "Deployment" and self.deployments_ready and name not in self.unready:
            return self.mark_deployment_ready(namespace or "", name)
        if kind == "Job":
            condition = "Failed" if name in self.failing_jobs else "Complete"
            status: Json = {"conditions": [{"type": condition, "status": "True", "reason": condition}]}
            status["failed" if condition == "Failed" else "succeeded"] = 1
            return self.fake.set_status("jobs", name, status, namespace=namespace)
        return obj

    def mark_deployment_ready(self, namespace: str, name: str) -> Json:
        obj = self.fake.get_object("deployments", name, namespace)
        assert obj is not None
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        generation = (obj.get("metadata") or {}).get("generation", 1)
        return self.fake.set_status("deployments", name, {
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
        }, namespace=namespace)

    def put_pod(self, namespace: str, owner: str, kind: str, template: Json, report: PodReport) -> Json:
        """The pod the owner's controller would make from `template`, as the kubelet reports it."""
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        if kind == "Job":
            labels["job-name"] = owner
        name = f"{owner}-{hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:5]}"
        containers = (template.get("spec") or {}).get("containers") or []
        statuses = [{"name": item["name"], "image": item.get("image", ""), "ready": False, **report.status}
                    for item in containers]
        pod = self.fake.put_object({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": copy.deepcopy(template.get("spec") or {}),
            "status": {"phase": "Running" if report.status.get("lastState") else "Pending",
                       "conditions": list(report.conditions), "containerStatuses": statuses},
        })
        for container, text in report.logs.items():
            self.fake.write_log(namespace, name, container, text)
        for container, text in report.previous_logs.items():
            self.fake.set_previous_log(namespace, name, container, text)
        return pod
