"""Reads the settings tree once from TEKTON_RUNNER_* variables (and KUBECONFIG); called by the CLI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import InitSettingsSource, PydanticBaseSettingsSource

from .settings import Settings, WorkspaceSettings, parse_flag

ENV_PREFIX = "TEKTON_RUNNER_"
# Workspace fields whose variable is not simply the upper-case field name.
_WORKSPACE_NAMES = {
    "provisioner": "WORKSPACE_PROVISIONER", "idle_ttl": "WORKSPACE_IDLE_TTL", "pinned": "WORKSPACE_PINNED",
}
# Older spellings of one workspace setting: variable -> (field, what its raw value means for that field).
_SPELLINGS: dict[str, tuple[str, Callable[[str], object]]] = {
    "REGISTRY_SCHEME": ("registry_http", lambda raw: _scheme_is_http(raw)),
    "REGISTRY_VERIFY_TLS": ("registry_insecure", lambda raw: not parse_flag(raw)),
}


def _scheme_is_http(raw: str) -> bool:
    if raw.strip().lower() not in {"http", "https"}:
        raise ValueError(f"{ENV_PREFIX}REGISTRY_SCHEME must be http or https, not {raw!r}")
    return raw.strip().lower() == "http"


def variable(path: tuple[str | int, ...]) -> str:
    """The variable behind a field of the tree: ("port",) -> TEKTON_RUNNER_PORT."""
    if path == ("workspaces",):
        return "workspace settings"
    if len(path) >= 2 and path[0] == "workspaces":
        name = str(path[1])
        return ENV_PREFIX + _WORKSPACE_NAMES.get(name, name.upper())
    return ENV_PREFIX + str(path[0]).upper() if path else ENV_PREFIX + "*"


def variables() -> dict[tuple[str, ...], str]:
    """Every field of the tree with its variable."""
    tree: dict[tuple[str, ...], str] = {
        (name,): variable((name,)) for name in Settings.model_fields if name != "workspaces"
    }
    for item in fields(WorkspaceSettings):
        tree["workspaces", item.name] = variable(("workspaces", item.name))
    return tree


class EnvironmentSource(PydanticBaseSettingsSource):
    """The raw strings of a given environment, shaped like the tree; the fields' validators type them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(Settings)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._environ.get(variable((field_name,))), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        workspaces: dict[str, Any] = {}
        for path, name in variables().items():
            raw = self._environ.get(name)
            if raw is not None and path[0] == "workspaces":
                workspaces[path[1]] = raw
            elif raw is not None:
                values[path[0]] = raw
        for suffix, (field_name, meaning) in _SPELLINGS.items():
            raw = self._environ.get(ENV_PREFIX + suffix)
            if raw is None:
                continue
            if field_name in workspaces and parse_flag(workspaces[field_name]) != meaning(raw):
                raise ValueError(f"{ENV_PREFIX}{suffix}={raw} contradicts {variable(('workspaces', field_name))}")
            workspaces[field_name] = meaning(raw)
        if "kubeconfig" not in values and self._environ.get("KUBECONFIG"):
            values["kubeconfig"] = self._environ["KUBECONFIG"]
        if workspaces:
            values["workspaces"] = workspaces
        return values


def settings_from_env(environ: Mapping[str, str], **overrides: object) -> Settings:
    """Settings from TEKTON_RUNNER_<FIELD> variables (and KUBECONFIG), then explicit overrides (flags)."""
    given = {name: value for name, value in overrides.items() if value is not None}
    return Settings(_build_sources=((InitSettingsSource(Settings, given), EnvironmentSource(environ)), {}))


def missing_settings(error: ValidationError) -> list[str]:
    """`TEKTON_RUNNER_<NAME> (<what it is>)` for each required setting the validation error says is unset."""
    missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing" and len(item["loc"]) == 1]
    return [f"{variable((name,))} ({Settings.model_fields[name].description})"
            for name in missing if name in Settings.model_fields and Settings.model_fields[name].is_required()]


def explain(error: ValidationError, *, missing: bool = True) -> str:
    """One line per refused setting, naming its variable and never echoing its value (it may be a secret).

    `missing=False` leaves out unset ones (and what follows from them), when they are reported on their own.
    """
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        if item["type"] == "missing" and not missing:
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable(tuple(item['loc']))}: {message}")
    return "\n".join(lines)
