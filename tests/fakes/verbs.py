"""Serves one resource request of the fake Kubernetes API: get, list, create, apply, patch, delete, status."""

import copy
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.fakes import merging, selectors
from tests.fakes.logs import PodLogBook, flag
from tests.fakes.paths import ResourcePath
from tests.fakes.resources import ResourceRegistry, ResourceType
from tests.fakes.store import ApiError, Json, ObjectStore
from tests.fakes.watching import Watches

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
_PROPAGATION = frozenset({"Foreground", "Background", "Orphan"})


def parse_body(body: bytes, content_type: str) -> Any:
    """Decode a request body: YAML for apply patches (JSON is valid YAML), JSON for everything else."""
    if not body:
        return None
    try:
        return yaml.safe_load(body) if content_type == APPLY else json.loads(body)
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {exc}") from exc


@dataclass
class Verbs:
    """Resource verbs over one registry and store; answers (HTTP status, JSON or text body)."""

    registry: ResourceRegistry
    store: ObjectStore
    watches: Watches
    logs: PodLogBook = field(default_factory=PodLogBook)

    @staticmethod
    def is_watch(method: str, query: Mapping[str, str]) -> bool:
        return method == "GET" and flag(query, "watch")

    @staticmethod
    def is_log_follow(method: str, where: ResourcePath, query: Mapping[str, str]) -> bool:
        return method == "GET" and where.plural == "pods" and where.subresource == "log" and flag(query, "follow")

    def follow_log(
        self, where: ResourcePath, query: Mapping[str, str], alive: Callable[[], bool]
    ) -> AsyncIterator[bytes]:
        """A follow of one container's log; raises before streaming when the pod or container is wrong."""
        assert where.name is not None and where.namespace is not None
        namespace, name = where.namespace, where.name
        rtype = self._type("GET", where, b"", "")
        container = self.logs.container(self.store.get(rtype, namespace, name), query)

        def current() -> Json | None:
            return self.store.objects.get(self.store.key(rtype, namespace, name))

        return self.logs.follow(namespace, name, container, query, current, alive)

    def watch(self, where: ResourcePath, query: Mapping[str, str]) -> AsyncGenerator[Json, None]:
        """Events for a watch on a collection, filtered like a LIST; raises before streaming on bad input."""
        if where.name is not None:
            raise ApiError(405, "MethodNotAllowed", "watch a collection, with fieldSelector=metadata.name=...")
        rtype = self._type("GET", where, b"", "")
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")
        try:
            selectors.match_labels({}, labels)
            selectors.match_fields({}, fields)
        except selectors.SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc

        def matches(obj: Json) -> bool:
            in_namespace = where.namespace is None or obj["metadata"].get("namespace") == where.namespace
            return in_namespace and selectors.match_labels(obj, labels) and selectors.match_fields(obj, fields)

        initial = [obj for obj in self.store.list(rtype, where.namespace) if matches(obj)]
        since = query.get("resourceVersion")
        since_version = int(since) if since and since != "0" else None
        return self.watches.stream(rtype.group, rtype.plural, matches, initial, since_version)

    def serve(
        self, method: str, where: ResourcePath, query: Mapping[str, str], content_type: str, raw: bytes
    ) -> tuple[int, Json | str]:
        if query.get("dryRun") and method != "GET":
            raise ApiError(400, "BadRequest", "dryRun is not supported by the fake Kubernetes API")
        rtype = self._type(method, where, raw, content_type)
        if where.name is None:
            return self._collection(method, rtype, where, query, content_type, raw)
        if where.subresource is None:
            return self._object(method, rtype, where, query, content_type, raw)
        if where.subresource == "status":
            return self._status(method, rtype, where, content_type, raw)
        if where.subresource == "log" and rtype.plural == "pods" and method == "GET":
            pod = self.store.get(rtype, where.namespace, where.name)
            container = self.logs.container(pod, query)
            previous = self.logs.reads_previous(pod, container, query)
            text = self.logs.read(where.namespace or "", where.name, container, query, previous=previous)
            return 200, text.decode(errors="replace")
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _type(self, method: str, where: ResourcePath, raw: bytes, content_type: str) -> ResourceType:
        rtype = self.registry.lookup(where.group, where.version, where.plural)
        if rtype is None and method in ("POST", "PUT", "PATCH") and where.subresource is None:
            sent = parse_body(raw, content_type)
            kind = sent.get("kind") if isinstance(sent, dict) else None
            namespaced = where.namespace is not None
            rtype = self.registry.infer(where.group, where.version, where.plural, namespaced, kind)
        if rtype is None:
            # Unknown types read as empty: a listing finds nothing and a named object is not there.
            rtype = ResourceType(where.group, where.version, where.plural, "", where.namespace is not None)
        named_in_wrong_scope = where.name is not None and (where.namespace is None) == rtype.namespaced
        if named_in_wrong_scope or (where.namespace is not None and not rtype.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rtype

    def _collection(
        self,
        method: str,
        rtype: ResourceType,
        where: ResourcePath,
        query: Mapping[str, str],
        content_type: str,
        raw: bytes,
    ) -> tuple[int, Json]:
        if method == "POST":
            body = parse_body(raw, content_type)
            name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None
            self._check_body(rtype, where, body, name)
            return 201, self.store.create(rtype, where.namespace, body, query.get("fieldManager"))
        if method not in ("GET", "DELETE"):
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        try:
            items = [
                obj
                for obj in self.store.list(rtype, where.namespace)
                if selectors.match_labels(obj, query.get("labelSelector"))
                and selectors.match_fields(obj, query.get("fieldSelector"))
            ]
        except selectors.SelectorError as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        if method == "DELETE":
            for obj in items:
                self.store.delete(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        listed = [copy.deepcopy(obj) for obj in items]
        if not rtype.custom:
            for obj in listed:  # built-in types list their items without apiVersion and kind
                obj.pop("apiVersion", None)
                obj.pop("kind", None)
        return 200, {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)},
            "items": listed,
        }

    def _object(
        self,
        method: str,
        rtype: ResourceType,
        where: ResourcePath,
        query: Mapping[str, str],
        content_type: str,
        raw: bytes,
    ) -> tuple[int, Json]:
        assert where.name is not None
        if method == "GET":
            return 200, copy.deepcopy(self.store.get(rtype, where.namespace, where.name))
        if method == "DELETE":
            return 200, self._delete(rtype, where, query, content_type, raw)
        body = parse_body(raw, content_type)
        if method == "PUT":
            self._check_body(rtype, where, body, where.name)
            return 200, self.store.update(rtype, where.namespace, where.name, body)
        if method != "PATCH":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on an object")
        if content_type == APPLY:
            manager = query.get("fieldManager")
            if not manager:
                raise ApiError(400, "BadRequest", "fieldManager is required for apply requests")
            self._check_body(rtype, where, body, where.name, apply=True)
            existed = self.store.key(rtype, where.namespace, where.name) in self.store.objects
            return (200 if existed else 201), self.store.apply(rtype, where.namespace, where.name, body, manager)
        live = self.store.get(rtype, where.namespace, where.name)
        return 200, self.store.update(
            rtype, where.namespace, where.name, self._patched(rtype, live, body, content_type)
        )

    def _patched(self, rtype: ResourceType, live: Json, body: Any, content_type: str) -> Json:
        if content_type == MERGE and isinstance(body, dict):
            patched: Json = merging.merge_patch(live, body)
        elif content_type == STRATEGIC and isinstance(body, dict) and not rtype.custom:
            patched = merging.strategic_merge(live, body)
        elif content_type == JSON_PATCH and not isinstance(body, list):
            # kubernetes_asyncio sends dict bodies of CustomObjectsApi patches as JSON patches by default.
            raise ApiError(
                400,
                "BadRequest",
                "a JSON patch (application/json-patch+json) must be a list of "
                "operations; send a dict as application/merge-patch+json",
            )
        elif content_type == JSON_PATCH:
            try:
                patched = merging.json_patch(live, body)
            except (KeyError, IndexError, ValueError) as exc:
                raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {exc!r}") from exc
        else:
            accepted = [JSON_PATCH, MERGE, APPLY] + ([] if rtype.custom else [STRATEGIC])
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - "
                f"accepted media types include: {', '.join(accepted)}",
            )
        return patched

    def _status(
        self, method: str, rtype: ResourceType, where: ResourcePath, content_type: str, raw: bytes
    ) -> tuple[int, Json]:
        """The status subresource: reads the object, writes only its status."""
        assert where.name is not None
        live = self.store.get(rtype, where.namespace, where.name)
        if method == "GET":
            return 200, copy.deepcopy(live)
        body = parse_body(raw, content_type)
        if method == "PUT":
            self._check_body(rtype, where, body, where.name)
            patched = body
        elif method == "PATCH" and content_type == APPLY:
            patched = merging.merge_patch(live, {"status": (body or {}).get("status") or {}})
        elif method == "PATCH":
            patched = self._patched(rtype, live, body, content_type)
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on the status subresource")
        updated = copy.deepcopy(live)
        updated["status"] = copy.deepcopy(patched.get("status", {}))
        if "resourceVersion" in patched.get("metadata", {}):
            updated["metadata"]["resourceVersion"] = patched["metadata"]["resourceVersion"]
        return 200, self.store.update(rtype, where.namespace, where.name, updated)

    def _delete(
        self,
        rtype: ResourceType,
        where: ResourcePath,
        query: Mapping[str, str],
        content_type: str,
        raw: bytes,
    ) -> Json:
        assert where.name is not None
        options = parse_body(raw, content_type) or {}
        policy = query.get("propagationPolicy") or options.get("propagationPolicy")
        if policy is not None and policy not in _PROPAGATION:
            raise ApiError(400, "BadRequest", f"propagationPolicy {policy!r} is not one of {sorted(_PROPAGATION)}")
        gone = self.store.delete(rtype, where.namespace, where.name)
        if rtype.plural == "namespaces":
            gone.setdefault("status", {})["phase"] = "Terminating"
            return gone
        details = {
            "name": where.name,
            "group": rtype.group,
            "kind": rtype.plural,
            "uid": gone["metadata"]["uid"],
        }
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _check_body(
        self, rtype: ResourceType, where: ResourcePath, body: Any, name: str | None, apply: bool = False
    ) -> None:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        meta = body.get("metadata") or {}
        if name is None or meta.get("name") != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name in the body ({meta.get('name')!r}) does not match the name in the URL ({name!r})",
            )
        if meta.get("namespace") not in (None, where.namespace) and rtype.namespaced:
            raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace on the URL")
        if apply and (body.get("apiVersion"), body.get("kind")) != (rtype.api_version, rtype.kind):
            raise ApiError(
                400,
                "BadRequest",
                f"apply needs apiVersion {rtype.api_version!r} and kind "
                f"{rtype.kind!r}, got {body.get('apiVersion')!r} and {body.get('kind')!r}",
            )
        if where.name is None and meta.get("resourceVersion"):
            raise ApiError(400, "BadRequest", "resourceVersion should not be set on objects to be created")
