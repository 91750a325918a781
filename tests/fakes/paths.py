"""Parses Kubernetes API paths (/api/v1/..., /apis/{group}/{version}/...) into a resource address."""

from dataclasses import dataclass

# Subresources of a namespace share the URL shape of a namespaced collection; these names are never plurals.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class ResourcePath:
    """What a request addresses: a collection (name is None), one object, or one object's subresource."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


@dataclass(frozen=True)
class DiscoveryPath:
    """A discovery document: /api, /apis, /api/v1, /apis/{group} or /apis/{group}/{version}."""

    group: str | None  # None for /api and /apis themselves
    version: str | None
    core: bool


def parse(path: str) -> ResourcePath | DiscoveryPath | None:
    """Split a request path; None when it is not a Kubernetes API path at all."""
    parts = [part for part in path.split("/") if part]
    if not parts or parts[0] not in ("api", "apis"):
        return None
    core = parts[0] == "api"
    if core:
        if len(parts) == 1:
            return DiscoveryPath(None, None, core=True)
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 3:
            return DiscoveryPath(parts[1] if len(parts) > 1 else None, None, core=False)
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return DiscoveryPath(group, version, core=core)
    return _parse_resource(group, version, rest)


def _parse_resource(group: str, version: str, rest: list[str]) -> ResourcePath | None:
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (core_namespace_subresource(group, rest) and len(rest) == 3):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    return ResourcePath(group, version, plural, namespace, name, subresource)


def core_namespace_subresource(group: str, rest: list[str]) -> bool:
    """True for /api/v1/namespaces/{name}/status and /finalize: the Namespace's own subresources."""
    return group == "" and len(rest) >= 3 and rest[2] in _NAMESPACE_SUBRESOURCES
