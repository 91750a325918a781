"""Where the runner's workloads run: a node selector and tolerations for every pod it creates in a
workspace (app, dependencies, migration Job), read from two settings and parsed here; used by the
settings tree and the chain's steps."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic.dataclasses import dataclass

Effect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
_EFFECTS: dict[str, Effect] = {effect: effect for effect in get_args(Effect)}
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_MAX_ITEMS = 32  # a setting, but still bounded


def _label_key(key: str) -> str:
    """A Kubernetes label key: [prefix/]name, the prefix a DNS subdomain of at most 253 characters."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        raise ValueError(f"{key!r}: the part before '/' must be a DNS subdomain such as example.com")
    if not _NAME.match(name):
        raise ValueError(f"{key!r}: the name must be 1-63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit")
    return key


def _label_value(key: str, value: str) -> str:
    if value and not _NAME.match(value):
        raise ValueError(f"{key}={value!r}: a value must be empty or 1-63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit")
    return value


def _items(raw: str, what: str) -> list[str]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if len(items) > _MAX_ITEMS:
        raise ValueError(f"at most {_MAX_ITEMS} {what}, not {len(items)}")
    return items


def parse_node_selector(raw: object) -> object:
    """`key=value[,key=value...]` (as `kubectl label` writes them) -> {key: value}; empty: no selector."""
    if not isinstance(raw, str):
        return raw
    selector: dict[str, str] = {}
    for item in _items(raw, "node labels"):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r} is not key=value (for example node-role.example.com/previews=true)")
        key = _label_key(key.strip())
        if key in selector:
            raise ValueError(f"{key!r} is given twice")
        selector[key] = _label_value(key, value.strip())
    return selector


@dataclass(frozen=True)
class Toleration:
    """One toleration: no value means any value of the key (operator Exists); no effect means every effect."""

    key: str
    value: str | None = None
    effect: Effect | None = None

    def manifest(self) -> dict[str, Any]:
        """The toleration as a pod spec holds it."""
        item: dict[str, Any] = {"key": self.key}
        item.update({"operator": "Exists"} if self.value is None else {"operator": "Equal", "value": self.value})
        if self.effect is not None:
            item["effect"] = self.effect
        return item


def _toleration(item: str) -> Toleration:
    taint, colon, written = item.rpartition(":") if ":" in item else (item, "", "")
    effect = _EFFECTS.get(written.strip())
    if colon and effect is None:
        raise ValueError(f"{item!r}: the effect must be one of {', '.join(_EFFECTS)}, not {written.strip()!r}")
    key, sep, value = taint.partition("=")
    key = _label_key(key.strip())
    return Toleration(key, _label_value(key, value.strip()) if sep else None, effect)


def parse_tolerations(raw: object) -> object:
    """`key[=value][:Effect][,...]` (the taint as `kubectl taint` writes it) -> tolerations; empty: none."""
    if not isinstance(raw, str):
        return raw
    return tuple(_toleration(item) for item in _items(raw, "tolerations"))
