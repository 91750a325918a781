"""In-memory object storage of the fake Kubernetes API: metadata, resourceVersions, cascading deletes."""

import copy
import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import merging
from tests.fakes.resources import ResourceType

Json = dict[str, Any]
Key = tuple[str, str, str, str]  # group, plural, namespace ("" when cluster-scoped), name
ChangeHook = Callable[[str, str, str, Json, int], None]  # event type, group, plural, object, resourceVersion

_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


class ApiError(Exception):
    """A failure the fake answers with a Status body, as the real API server does."""

    def __init__(self, code: int, reason: str, message: str, details: Json | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> Json:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(rtype: ResourceType, name: str) -> ApiError:
    details = {"name": name, "group": rtype.group, "kind": rtype.plural}
    return ApiError(404, "NotFound", f'{rtype.qualified} "{name}" not found', details)


def _wall_clock() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class ObjectStore:
    """Objects by key plus the last configuration each field manager applied to each of them."""

    require_namespaces: bool = True
    objects: dict[Key, Json] = field(default_factory=dict)
    applied: dict[Key, dict[str, Json]] = field(default_factory=dict)
    resource_version: int = 1000  # the last one handed out; every write takes the next
    on_change: ChangeHook | None = None
    now: Callable[[], datetime.datetime] = _wall_clock  # what stamps creationTimestamp (a test's fake clock)

    def _now(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def key(rtype: ResourceType, namespace: str | None, name: str) -> Key:
        return (rtype.group, rtype.plural, namespace if rtype.namespaced and namespace else "", name)

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Json:
        obj = self.objects.get(self.key(rtype, namespace, name))
        if obj is None:
            raise not_found(rtype, name)
        return obj

    def list(self, rtype: ResourceType, namespace: str | None) -> list[Json]:
        found = [
            obj
            for (group, plural, ns, _), obj in sorted(self.objects.items())
            if (group, plural) == (rtype.group, rtype.plural) and (namespace is None or ns == namespace)
        ]
        return found

    def _bump(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def _check_namespace(self, rtype: ResourceType, namespace: str | None) -> None:
        if not rtype.namespaced or not self.require_namespaces:
            return
        if namespace is None:
            raise ApiError(400, "BadRequest", f"{rtype.qualified} must be created in a namespace")
        if ("", "namespaces", "", namespace) not in self.objects:
            details = {"name": namespace, "kind": "namespaces"}
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found', details)

    def _store(self, rtype: ResourceType, namespace: str | None, obj: Json, before: Json | None) -> Json:
        """Save `obj` with server-owned metadata; a write that changes nothing keeps its resourceVersion."""
        meta = obj.setdefault("metadata", {})
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        if rtype.namespaced and namespace:
            meta["namespace"] = namespace
        old_meta = before["metadata"] if before else {}
        for server_field in _SERVER_FIELDS:
            if server_field in old_meta:
                meta[server_field] = copy.deepcopy(old_meta[server_field])
            else:
                meta.pop(server_field, None)
        if before is not None and obj == before:
            return copy.deepcopy(before)
        if before is None:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=self._now(), generation=1)
        elif merging.spec_changed(before, obj):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        meta["resourceVersion"] = self._bump()
        self.objects[self.key(rtype, namespace, meta["name"])] = obj
        self._notify("ADDED" if before is None else "MODIFIED", rtype.group, rtype.plural, obj)
        return copy.deepcopy(obj)

    def _notify(self, event_type: str, group: str, plural: str, obj: Json) -> None:
        if self.on_change is not None:
            self.on_change(event_type, group, plural, obj, self.resource_version)

    def _record_manager(self, obj: Json, manager: str, operation: str) -> None:
        entries = [entry for entry in obj["metadata"].get("managedFields", []) if entry["manager"] != manager]
        entries.append({"manager": manager, "operation": operation, "apiVersion": obj["apiVersion"],
                        "time": self._now()})
        obj["metadata"]["managedFields"] = entries

    def create(self, rtype: ResourceType, namespace: str | None, body: Json, manager: str | None) -> Json:
        name = body.get("metadata", {}).get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{rtype.kind} is invalid: metadata.name: Required value")
        self._check_namespace(rtype, namespace)
        if self.key(rtype, namespace, name) in self.objects:
            details = {"name": name, "group": rtype.group, "kind": rtype.plural}
            raise ApiError(409, "AlreadyExists", f'{rtype.qualified} "{name}" already exists', details)
        saved = self._store(rtype, namespace, copy.deepcopy(body), None)
        if manager:
            self._record_manager(self.objects[self.key(rtype, namespace, name)], manager, "Update")
        return saved

    def apply(self, rtype: ResourceType, namespace: str | None, name: str, body: Json, manager: str) -> Json:
        """Server-side apply: create when absent, otherwise merge what this manager sets."""
        key = self.key(rtype, namespace, name)
        live = self.objects.get(key)
        if live is None:
            self._check_namespace(rtype, namespace)
        previous = self.applied.get(key, {}).get(manager)
        version_before = live["metadata"].get("resourceVersion") if live else None
        self._store(rtype, namespace, merging.apply(live, body, previous), live)
        self.applied.setdefault(key, {})[manager] = copy.deepcopy(body)
        stored = self.objects[key]
        if stored["metadata"]["resourceVersion"] != version_before:
            self._record_manager(stored, manager, "Apply")
        return copy.deepcopy(stored)

    def update(self, rtype: ResourceType, namespace: str | None, name: str, obj: Json) -> Json:
        """Replace the whole stored object (PUT, merge and strategic patches compute `obj` first)."""
        before = self.get(rtype, namespace, name)
        sent_version = obj.get("metadata", {}).get("resourceVersion")
        if sent_version and sent_version != before["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {rtype.qualified} "{name}": '
                "the object has been modified; please apply your changes to the latest version",
            )
        return self._store(rtype, namespace, copy.deepcopy(obj), before)

    def put(self, rtype: ResourceType, obj: Json) -> Json:
        """Seed or overwrite an object directly, skipping namespace checks (test setup only)."""
        meta = obj.get("metadata", {})
        before = self.objects.get(self.key(rtype, meta.get("namespace"), meta["name"]))
        return self._store(rtype, meta.get("namespace"), copy.deepcopy(obj), before)

    def delete(self, rtype: ResourceType, namespace: str | None, name: str) -> Json:
        """Remove an object at once (no finalizers, no grace); a namespace takes its contents with it."""
        self.get(rtype, namespace, name)  # 404 when absent
        if (rtype.group, rtype.plural) == ("", "namespaces"):
            for inner in [inner for inner in self.objects if inner[2] == name]:
                self._remove(inner)
        return self._remove(self.key(rtype, namespace, name))

    def _remove(self, key: Key) -> Json:
        obj = self.objects.pop(key)
        self.applied.pop(key, None)
        obj["metadata"]["resourceVersion"] = self._bump()
        self._notify("DELETED", key[0], key[1], obj)
        return obj
