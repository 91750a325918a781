"""Patch semantics of the fake Kubernetes API: server-side apply, JSON merge patch, basic strategic merge."""

import copy
from typing import Any

Json = dict[str, Any]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: Json = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _named_items(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def strategic_merge(target: Any, patch: Any) -> Any:
    """A basic strategic merge: like a merge patch, but lists of named items (containers, env,
    ports, volumes) merge by `name` instead of being replaced. `$patch` directives are not supported."""
    if not isinstance(patch, dict):
        if isinstance(patch, list) and isinstance(target, list) and _named_items(patch) and _named_items(target):
            merged = {item["name"]: copy.deepcopy(item) for item in target}
            for item in patch:
                merged[item["name"]] = strategic_merge(merged.get(item["name"]), item)
            return list(merged.values())
        return copy.deepcopy(patch)
    result: Json = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value)
    return result


def _apply_merge(live: Any, applied: Any, previous: Any) -> Any:
    """Merge what one manager applies into the live value.

    Mappings merge key by key; lists and scalars the applier sets replace the live value.
    Keys the same manager applied last time but omits now are removed, as the real server does
    for fields a manager stops owning; keys set by others (or by plain updates) are kept.
    """
    if not isinstance(applied, dict) or not isinstance(live, dict):
        return copy.deepcopy(applied)
    result: Json = copy.deepcopy(live)
    before = previous if isinstance(previous, dict) else {}
    for key in before:
        if key not in applied:
            result.pop(key, None)
    for key, value in applied.items():
        result[key] = _apply_merge(result.get(key), value, before.get(key))
    return result


def apply(live: Json | None, applied: Json, previous: Json | None) -> Json:
    """The object after a server-side apply of `applied` (status is never applied on the main resource)."""
    body = {key: value for key, value in applied.items() if key != "status"}
    last = {key: value for key, value in (previous or {}).items() if key != "status"}
    base: Json = live if live is not None else {}
    merged: Json = _apply_merge(base, body, last)
    if live is not None and "status" in live:
        merged["status"] = copy.deepcopy(live["status"])
    return merged


def spec_changed(before: Json, after: Json) -> bool:
    """Whether anything but metadata and status changed: the real server bumps generation only then."""

    def strip(obj: Json) -> Json:
        return {key: value for key, value in obj.items() if key not in ("metadata", "status")}

    return strip(before) != strip(after)


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def json_patch(target: Json, operations: list[Json]) -> Json:
    """RFC 6902 JSON patch with the add, remove, replace and test operations."""
    result = copy.deepcopy(target)
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        container: Any = result
        for part in parents:
            container = container[int(part)] if isinstance(container, list) else container[part]
        op = operation["op"]
        if isinstance(container, list):
            index = len(container) if last == "-" else int(last)
            if op == "add":
                container.insert(index, copy.deepcopy(operation["value"]))
            elif op == "remove":
                del container[index]
            elif op == "replace":
                container[index] = copy.deepcopy(operation["value"])
            elif op == "test" and container[index] != operation["value"]:
                raise ValueError(f"test failed at {operation['path']}")
        elif op in ("add", "replace"):
            if op == "replace" and last not in container:
                raise ValueError(f"replace of a missing key at {operation['path']}")
            container[last] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del container[last]
        elif op == "test" and container.get(last) != operation["value"]:
            raise ValueError(f"test failed at {operation['path']}")
        elif op not in ("test",):
            raise ValueError(f"unsupported JSON patch operation {op!r}")
    return result
