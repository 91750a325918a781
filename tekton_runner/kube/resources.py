"""Maps apiVersion/kind to REST paths for the kinds the runner handles."""

from __future__ import annotations

from dataclasses import dataclass

_PLURALS = {
    "Namespace": ("namespaces", False),
    "Node": ("nodes", False),
    "Secret": ("secrets", True),
    "ConfigMap": ("configmaps", True),
    "Service": ("services", True),
    "ServiceAccount": ("serviceaccounts", True),
    "Pod": ("pods", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "Deployment": ("deployments", True),
    "StatefulSet": ("statefulsets", True),
    "Job": ("jobs", True),
    "TaskRun": ("taskruns", True),
    "Task": ("tasks", True),
    "Trigger": ("triggers", True),
    "TriggerBinding": ("triggerbindings", True),
    "EventListener": ("eventlisteners", True),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "Lease": ("leases", True),
}


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection(self, namespace: str | None) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced: a namespace is required")
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def item(self, namespace: str | None, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


def resource(api_version: str, kind: str) -> Resource:
    plural, namespaced = _PLURALS.get(kind, (kind.lower() + "s", True))
    return Resource(api_version=api_version, kind=kind, plural=plural, namespaced=namespaced)
