"""Label and field selector matching for LIST requests to the fake Kubernetes API."""

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, str]], bool]

# Commas separate requirements, except inside the parentheses of a set-based one.
_SPLIT = re.compile(r",(?![^()]*\))")
_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


class SelectorError(ValueError):
    """A selector the fake cannot parse; the API answers 400 BadRequest like the real server."""


def _requirement(text: str) -> Predicate:
    if match := _SET.match(text):
        key, operator, raw = match.groups()
        values = {value.strip() for value in raw.split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(text):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(text):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: {text!r}")


def parse_selector(selector: str | None) -> Predicate:
    """Compile `a=b,c!=d,e in (x,y),f notin (z),g,!h` into one predicate over a label mapping."""
    if not selector or not selector.strip():
        return lambda labels: True
    requirements = [_requirement(part) for part in _SPLIT.split(selector) if part.strip()]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def _field_value(obj: Mapping[str, Any], dotted: str) -> str | None:
    current: Any = obj
    for key in dotted.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return None
        current = current[key]
    return None if isinstance(current, Mapping | list) else str(current)


def match_labels(obj: Mapping[str, Any], selector: str | None) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return parse_selector(selector)(labels)


def match_fields(obj: Mapping[str, Any], selector: str | None) -> bool:
    """Field selectors by dotted path with =, == and != (`metadata.name=x,status.phase!=Running`)."""
    if not selector or not selector.strip():
        return True
    for part in _SPLIT.split(selector):
        match = _EQUALITY.match(part)
        if match is None:
            raise SelectorError(f"unable to parse field requirement: {part!r}")
        key, operator, value = match.groups()
        actual = _field_value(obj, key)
        if (actual == value) != (operator != "!="):
            return False
    return True
