"""Stands in for the controllers a real cluster runs, inside the fake API: NodePorts, readiness, Jobs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import FakeKubeApi

Json = dict[str, Any]


@dataclass
class Controllers:
    """Reacts synchronously to each apply, as far as the test allows it to."""

    fake: FakeKubeApi
    deployments_ready: bool = True
    unready: set[str] = field(default_factory=set)  # Deployments never marked ready, whatever the above says
    failing_jobs: set[str] = field(default_factory=set)
    next_node_port: int = 30080

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
