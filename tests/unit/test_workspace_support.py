"""Checks a generated kind config against kind's own Go types, read at test time from the Go module cache.

kind's loader decodes v1alpha4.Cluster strictly (unknown fields are errors), so the honest offline check
is: every key is a yaml/json tag of the Go struct at that place, every value has the Go field's shape, and
enum-like string types hold one of kind's constants. Nothing of kind's is copied into this repository.
Holds no tests; used by tests/*/test_workspace_kind_*.py.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

KIND_MODULE = ("sigs.k8s.io/kind", "v0.33.0")
TYPES_FILE = "pkg/apis/config/v1alpha4/types.go"

_STRUCT = re.compile(r"^type (\w+) struct \{$")
_ALIAS = re.compile(r"^type (\w+) (string|int32|bool)$")
_FIELD = re.compile(r"^\s+(\w+)\s+([\w\[\]*.]+)\s+`([^`]*)`")
_EMBEDDED = re.compile(r"^\s+()(\w+)\s+`([^`]*)`")
_CONST = re.compile(r"^\s+\w+\s+(\w+)\s*=\s*\"([^\"]*)\"")
_TAG = re.compile(r'(\w+):"([^"]*)"')


@functools.cache
def kind_module_dir() -> Path:
    module, version = KIND_MODULE
    with tempfile.TemporaryDirectory() as outside_any_module:
        try:
            done = subprocess.run(
                ["go", "mod", "download", "-json", f"{module}@{version}"],
                cwd=outside_any_module, capture_output=True, text=True, timeout=600, check=False,
            )
        except FileNotFoundError:
            pytest.fail("the go tool is needed to read kind's config types from the module cache")
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in info:
        pytest.fail(f"go mod download {module}@{version} failed: {info.get('Error') or done.stderr}")
    return Path(info["Dir"])


@dataclass
class GoField:
    name: str  # the serialized key; "" for an inline embedded struct
    go_type: str
    inline: bool = False


@dataclass
class KindTypes:
    structs: dict[str, list[GoField]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    enums: dict[str, set[str]] = field(default_factory=dict)


@functools.cache
def kind_types() -> KindTypes:
    """Structs (with their yaml/json keys), string aliases and their constants from kind's types.go."""
    types = KindTypes()
    current: list[GoField] | None = None
    for line in (kind_module_dir() / TYPES_FILE).read_text().splitlines():
        if (struct := _STRUCT.match(line)) is not None:
            current = types.structs.setdefault(struct.group(1), [])
            continue
        if current is not None:
            if line.startswith("}"):
                current = None
                continue
            found = _FIELD.match(line) or _EMBEDDED.match(line)
            if line.strip().startswith("//") or found is None:
                continue
            go_name, go_type, tag = found.groups()
            tags = dict(_TAG.findall(tag))
            yaml_key, json_key = tags["yaml"].split(",")[0], tags["json"].split(",")[0]
            assert yaml_key == json_key, f"kind's {go_name or go_type} has different yaml and json keys"
            inline = "inline" in tags["json"].split(",")[1:]
            current.append(GoField(name=json_key, go_type=go_type, inline=inline))
            continue
        if (alias := _ALIAS.match(line)) is not None:
            types.aliases[alias.group(1)] = alias.group(2)
        elif (const := _CONST.match(line)) is not None and const.group(1) in types.aliases:
            types.enums.setdefault(const.group(1), set()).add(const.group(2))
    assert "Cluster" in types.structs and "Node" in types.structs, "kind's types.go no longer looks as expected"
    return types


def _fields(types: KindTypes, struct: str) -> dict[str, GoField]:
    found: dict[str, GoField] = {}
    for item in types.structs[struct]:
        if item.inline:
            found.update(_fields(types, item.go_type))
        else:
            found[item.name] = item
    return found


def problems(value: Any, go_type: str = "Cluster", where: str = "") -> list[str]:
    """Everything about `value` kind's strict decoder of `go_type` would reject or misread."""
    types = kind_types()
    go_type = go_type.lstrip("*")
    if go_type.startswith("[]"):
        if not isinstance(value, list):
            return [f"{where}: {go_type} wants a list, got {value!r}"]
        return [issue for i, item in enumerate(value) for issue in problems(item, go_type[2:], f"{where}[{i}]")]
    if go_type.startswith("map[string]"):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return [f"{where}: {go_type} wants a mapping with string keys, got {value!r}"]
        inner = go_type[len("map[string]"):]
        return [issue for k, item in value.items() for issue in problems(item, inner, f"{where}.{k}")]
    if go_type in types.structs:
        if not isinstance(value, dict):
            return [f"{where}: {go_type} wants a mapping, got {value!r}"]
        known = _fields(types, go_type)
        issues = []
        for key, item in value.items():
            if key not in known:
                issues.append(f"{where}.{key}: not a field of kind's v1alpha4.{go_type} (known: {sorted(known)})")
            else:
                issues.extend(problems(item, known[key].go_type, f"{where}.{key}"))
        return issues
    if go_type in types.aliases:
        allowed = types.enums.get(go_type)
        if allowed and value not in allowed:
            return [f"{where}: {value!r} is not one of kind's {go_type} values {sorted(allowed)}"]
        return problems(value, types.aliases[go_type], where)
    if go_type == "string":
        return [] if isinstance(value, str) else [f"{where}: wants a string, got {value!r}"]
    if go_type == "bool":
        return [] if isinstance(value, bool) else [f"{where}: wants a bool, got {value!r}"]
    if go_type == "int32":
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
        return [] if ok else [f"{where}: wants an int32, got {value!r}"]
    return [f"{where}: the checker does not know Go type {go_type}"]
