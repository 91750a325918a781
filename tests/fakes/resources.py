"""Resource types the fake Kubernetes API knows (kind, plural, scope) and its discovery documents."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and what its objects are called."""

    group: str  # "" for the core group served under /api/v1
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    custom: bool = False  # custom resources list their items with apiVersion and kind, like the real server
    subresources: tuple[str, ...] = ("status",)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The `plural.group` spelling kubectl uses, e.g. `deployments.apps` or `secrets`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _core(plural: str, kind: str, namespaced: bool = True, subs: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, subresources=subs)


BUILTIN: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", namespaced=False, subs=("status", "finalize")),
    _core("nodes", "Node", namespaced=False, subs=("status",)),
    _core("secrets", "Secret"),
    _core("configmaps", "ConfigMap"),
    _core("services", "Service", subs=("status",)),
    _core("pods", "Pod", subs=("status", "log")),
    _core("events", "Event"),
    _core("serviceaccounts", "ServiceAccount"),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", subs=("status",)),
    _core("endpoints", "Endpoints"),
    ResourceType("apps", "v1", "deployments", "Deployment"),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet"),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet"),
    ResourceType("batch", "v1", "jobs", "Job"),
    ResourceType("batch", "v1", "cronjobs", "CronJob"),
    ResourceType("events.k8s.io", "v1", "events", "Event", subresources=()),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress"),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", subresources=()),
    ResourceType("tekton.dev", "v1", "taskruns", "TaskRun", custom=True),
    ResourceType("tekton.dev", "v1", "pipelineruns", "PipelineRun", custom=True),
    ResourceType("tekton.dev", "v1", "tasks", "Task", custom=True, subresources=()),
    ResourceType("tekton.dev", "v1", "pipelines", "Pipeline", custom=True, subresources=()),
)


def guess_kind(plural: str) -> str:
    """A kind for a plural nobody registered: `widgets` -> `Widget`, `policies` -> `Policy`."""
    if plural.endswith("ies"):
        singular = plural[:-3] + "y"
    elif plural.endswith("ses"):
        singular = plural[:-2]
    else:
        singular = plural.removesuffix("s")
    return singular[:1].upper() + singular[1:]


@dataclass
class ResourceRegistry:
    """Resource types by (group, version, plural); unknown plurals are registered when first written."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    @classmethod
    def with_builtins(cls) -> "ResourceRegistry":
        registry = cls()
        for rtype in BUILTIN:
            registry.register(rtype)
        return registry

    def register(self, rtype: ResourceType) -> ResourceType:
        self.types[(rtype.group, rtype.version, rtype.plural)] = rtype
        return rtype

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def infer(self, group: str, version: str, plural: str, namespaced: bool, kind: str | None = None) -> ResourceType:
        """Find or register the type a URL names, so arbitrary kinds work without setup."""
        known = self.lookup(group, version, plural)
        if known is not None:
            return known
        custom = "." in group and not group.endswith("k8s.io")
        return self.register(ResourceType(group, version, plural, kind or guess_kind(plural), namespaced, custom))

    def resolve(self, name: str) -> ResourceType:
        """Find a type by kind (`Deployment`), plural (`deployments`) or `plural.group` (`jobs.batch`).

        Core types win over same-named ones in other groups (`Event` is the core v1 Event).
        """
        wanted = name.lower()
        matches = [
            rtype
            for rtype in self.types.values()
            if wanted in (rtype.kind.lower(), rtype.plural, rtype.qualified, f"{rtype.kind.lower()}.{rtype.group}")
        ]
        if not matches:
            raise KeyError(f"unknown resource type {name!r}; register it with fake.register(ResourceType(...))")
        matches.sort(key=lambda rtype: (rtype.group != "", rtype.group))
        return matches[0]

    def by_api_version_kind(self, api_version: str, kind: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        for rtype in self.types.values():
            if rtype.group == group and rtype.version == version and rtype.kind == kind:
                return rtype
        raise KeyError(f"unknown kind {kind!r} in {api_version!r}; register it with fake.register(...)")

    def discovery(self, group: str, version: str) -> dict[str, Any]:
        """An APIResourceList for /api/v1 or /apis/{group}/{version}."""
        resources: list[dict[str, Any]] = []
        for rtype in self.types.values():
            if (rtype.group, rtype.version) != (group, version):
                continue
            verbs = ["create", "delete", "get", "list", "patch", "update"]
            resources.append(
                {
                    "name": rtype.plural,
                    "singularName": rtype.kind.lower(),
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": verbs,
                }
            )
            for sub in rtype.subresources:
                resources.append(
                    {
                        "name": f"{rtype.plural}/{sub}",
                        "singularName": "",
                        "namespaced": rtype.namespaced,
                        "kind": rtype.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def groups(self) -> list[dict[str, Any]]:
        """APIGroup entries for /apis: every non-core group with its versions."""
        versions: dict[str, list[str]] = {}
        for rtype in self.types.values():
            if rtype.group and rtype.version not in versions.setdefault(rtype.group, []):
                versions[rtype.group].append(rtype.version)
        return [self.group(name, found) for name, found in sorted(versions.items())]

    @staticmethod
    def group(name: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": name,
            "versions": entries,
            "preferredVersion": entries[0],
        }
