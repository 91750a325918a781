"""A value with quotes, newlines, template or YAML syntax stays one literal string in the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tekton_runner.manifests import ManifestError, Renderer
from tests.unit.manifest_values import values

HOSTILE = [
    'quote " and \' quotes',
    "line one\nkind: Secret\nmetadata: {name: evil}",
    "{{ 7 * 7 }} {% raw %}",
    "$(SECRET_KEY) and $$(x)",
    "---\napiVersion: v1\nkind: Pod",
    "key: value",
    "- list item",
    "&anchor *alias !!python/object",
    "</script><b>",
    "\u2028\u0000tab\there",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_env_value_stays_a_literal(value: str) -> None:
    objects = Renderer().render("app.yaml.j2", values("app.yaml.j2", env_value=value))
    assert [obj["kind"] for obj in objects] == ["Deployment", "Service"]
    env = objects[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "GREETING", "value": value}
    assert len(env) == 2


@pytest.mark.parametrize("value", HOSTILE)
def test_migration_command_stays_literal(value: str) -> None:
    objects = Renderer().render("migration-job.yaml.j2", values("migration-job.yaml.j2", command=["sh", "-c", value]))
    assert len(objects) == 1
    assert objects[0]["spec"]["template"]["spec"]["containers"][0]["command"] == ["sh", "-c", value]


def test_value_printed_without_tojson_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml.j2").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ name }}\n")
    with pytest.raises(ManifestError, match="tojson"):
        Renderer(tmp_path).render("bad.yaml.j2", {"name": "x"})


def test_missing_value_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="undefined"):
        Renderer().render("app.yaml.j2", {"name": "shop"})
