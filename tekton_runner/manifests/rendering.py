"""Jinja2 (StrictUndefined, every value through `tojson`) -> YAML -> checked objects; used by the chain."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

KubeObject = dict[str, Any]
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# libyaml's safe loader where PyYAML was built with it (its wheels are): the same documents as the pure-Python
# SafeLoader, which took over a third of the CPU of 100 chains starting together (docs/benchmarks.md).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(Exception):
    """A template or its output is not a well-formed object; a bug, never user input."""


def templates_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they are the repository's manifests/."""
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "manifests"


def _only_json(value: object) -> object:
    # tojson returns Markup; anything else reached the output unescaped.
    if isinstance(value, Markup):
        return value
    raise ManifestError(f"template printed {value!r} without `| tojson`")


def _check(obj: object, template: str) -> KubeObject:
    if not isinstance(obj, dict):
        raise ManifestError(f"{template}: a document is not a mapping")
    for key in ("apiVersion", "kind", "metadata"):
        if key not in obj:
            raise ManifestError(f"{template}: {key} is missing")
    metadata = obj["metadata"]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise ManifestError(f"{template}: metadata.name is missing")
    if not _NAME.match(metadata["name"]) or len(metadata["name"]) > 253:
        raise ManifestError(f"{template}: {metadata['name']!r} is not a valid object name")
    labels = metadata.get("labels") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ManifestError(f"{template}: labels must map strings to strings")
    return obj


def _tojson(value: object) -> Markup:
    """Jinja's tojson, but a missing value is an error rather than something json.dumps chokes on."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return htmlsafe_json_dumps(value)


def _triggers_literal(value: object) -> Markup:
    """A static Triggers binding value: Triggers pastes it into JSON text as it is, so it is JSON-escaped
    once here (the TaskRun then gets the value back unchanged) and then printed as a YAML/JSON string.
    `$(` is refused: Triggers would evaluate it as an expression against the delivery."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, str):
        raise ManifestError(f"a Triggers binding value must be a string, not {value!r}")
    if "$(" in value:
        raise ManifestError(f"a Triggers binding value may not contain '$(': {value!r}")
    return htmlsafe_json_dumps(str(htmlsafe_json_dumps(value))[1:-1])


class Renderer:
    def __init__(self, directory: Path | None = None) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory or templates_dir())),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            finalize=_only_json,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._env.filters["tojson"] = _tojson
        self._env.filters["triggers_literal"] = _triggers_literal
        # Jinja's globals (range, dict, namespace...) would stand in for a missing value of the same name.
        self._env.globals.clear()
        # Compile every template now (file I/O happens here, off the request path) and keep them.
        self._templates = {name: self._env.get_template(name) for name in self._env.list_templates(extensions=["j2"])}

    def render(self, template: str, values: Mapping[str, Any]) -> list[KubeObject]:
        """Every document of `template` rendered with `values`, parsed and shape-checked."""
        try:
            compiled = self._templates.get(template)
            if compiled is None:
                raise ManifestError(f"no template {template!r}")
            text = compiled.render(**values)
        except jinja2.TemplateError as error:
            raise ManifestError(f"{template}: {error}") from error
        try:
            documents = [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]
        except yaml.YAMLError as error:
            raise ManifestError(f"{template}: rendered output is not YAML: {error}") from error
        return [_check(doc, template) for doc in documents]
