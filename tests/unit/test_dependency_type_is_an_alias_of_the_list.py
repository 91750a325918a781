"""`dependencies: [...]` is the request field; the older `dependency: {type}` is mapped onto it, and every
refusal names the field it is about."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tekton_runner.handlers.problems import field_errors
from tekton_runner.models.apps import AppRegistration
from tekton_runner.models.spec import RunSpec

BASE: dict[str, Any] = {"workspace": "demo", "app": {"name": "shop"},
                        "source": {"type": "git", "url": "https://git.example.com/shop.git"}}
MIGRATION = {"enabled": True, "command": ["./migrate"]}


def spec(**fields: Any) -> RunSpec:
    return RunSpec.model_validate({**BASE, **fields})


def refused(**fields: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        spec(**fields)
    return {item["field"]: item["reason"] for item in field_errors(caught.value)}


@pytest.mark.parametrize(("legacy", "kinds"), [
    ({}, ()), ({"type": "none"}, ()), ({"type": "redis"}, ("redis",)), ({"type": "sql"}, ("postgres",)),
    ({"type": "both"}, ("redis", "postgres")),
])
def test_dependency_type_maps_to_the_list(legacy: dict[str, str], kinds: tuple[str, ...]) -> None:
    assert spec(dependency=legacy).dependencies == kinds


def test_neither_field_means_no_dependencies() -> None:
    assert spec().dependencies == ()


def test_list_is_kept_in_table_order() -> None:
    assert spec(dependencies=["rabbitmq", "postgres", "redis"]).dependencies == ("redis", "postgres", "rabbitmq")


def test_both_fields_given_and_agreeing_are_accepted() -> None:
    both = spec(dependency={"type": "both"}, dependencies=["postgres", "redis"])
    assert both == spec(dependencies=["redis", "postgres"])


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"dependency": {"type": "both"}, "dependencies": ["redis"]}, "dependency", "disagrees with dependencies"),
    ({"dependency": {"type": "none"}, "dependencies": ["rabbitmq"]}, "dependency", "disagrees"),
    ({"dependencies": ["mongo"]}, "dependencies", "unknown kind 'mongo'"),
    ({"dependencies": ["redis", "redis"]}, "dependencies", "more than once"),
    ({"dependencies": "redis"}, "dependencies", "tuple"),
    ({"dependency": {"type": "mongo"}}, "dependency.type", "'none', 'redis', 'sql' or 'both'"),
    ({"dependency": None}, "dependency", "dictionary"),
    ({"dependencies": ["redis", "rabbitmq"], "migration": MIGRATION}, "migration", "'postgres' in dependencies"),
    ({"dependency": {"type": "redis"}, "migration": MIGRATION}, "migration", "'postgres' in dependencies"),
    ({"app": {"name": "shop", "env": {"AMQP_URL": "amqp://elsewhere"}}}, "app.env", "set by the runner"),
])
def test_refusal_names_the_field_and_why(fields: dict[str, Any], field: str, words: str) -> None:
    reasons = refused(**fields)
    assert field in reasons, reasons
    assert words in reasons[field]


def test_migration_runs_with_postgres_among_other_kinds() -> None:
    assert spec(dependencies=["postgres", "rabbitmq"], migration=MIGRATION).migration.enabled


def test_stored_and_shown_spec_carries_only_the_list() -> None:
    dumped = spec(dependency={"type": "sql"}).model_dump(mode="json")
    assert dumped["dependencies"] == ["postgres"] and "dependency" not in dumped


def test_spec_stored_by_the_previous_release_reads_as_the_list() -> None:
    stored = RunSpec.model_validate_json(
        '{"workspace": "demo", "app": {"name": "shop", "port": 8080, "env": {}, "replicas": 1},'
        ' "image": {"repository": null, "tag": null}, "dependency": {"type": "both"},'
        ' "migration": {"enabled": true, "command": ["./migrate"]}, "expose": {"external_port": null},'
        ' "source": {"type": "git", "url": "https://git.example.com/shop.git", "revision": "main",'
        ' "context": ".", "dockerfile": "Dockerfile"}}')
    assert stored.dependencies == ("redis", "postgres")
    assert RunSpec.model_validate_json(stored.model_dump_json()) == stored


def test_registered_app_passes_its_list_to_the_runs_it_makes() -> None:
    registration = AppRegistration.model_validate({
        "workspace": "demo", "app": {"name": "shop"}, "source": {"url": "https://git.example.com/shop.git"},
        "dependency": {"type": "redis"}})
    assert registration.run_spec("3f2c1a9e").dependencies == ("redis",)
    listed = AppRegistration.model_validate({**registration.model_dump(mode="json"), "dependencies": ["rabbitmq"]})
    assert listed.run_spec("3f2c1a9e").dependencies == ("rabbitmq",)
