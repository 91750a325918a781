"""The app and the migration Job get every env key of every requested kind, read from the `<app>-deps`
Secret, and nothing of the kinds not requested."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tekton_runner.chain.steps.app import app_env
from tekton_runner.chain.steps.common import dependency_env
from tekton_runner.models.dependencies import KINDS
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run, RunState
from tekton_runner.models.spec import RunSpec

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def run(**fields: Any) -> Run:
    spec = RunSpec.model_validate({
        "workspace": "demo", "app": {"name": "shop", "env": {"GREETING": "hi"}},
        "source": {"type": "git", "url": "https://git.example.com/shop.git"}, **fields})
    return Run(id=RunId("r-0123456789abcdef"), spec=spec, state=RunState.DEPLOYING,
               image="harbor.test/library/demo-shop:r-0123456789abcdef", created_at=NOW, updated_at=NOW)


def from_secret(env: list[dict[str, Any]]) -> dict[str, str]:
    return {item["name"]: item["valueFrom"]["secretKeyRef"]["name"] for item in env if "valueFrom" in item}


@pytest.mark.parametrize("kinds", [["redis"], ["postgres"], ["rabbitmq"], ["redis", "postgres", "rabbitmq"]])
def test_each_requested_kind_gives_its_keys_from_the_secret(kinds: list[str]) -> None:
    wanted = {key for name in kinds for key in KINDS[name].env_keys}
    the_run = run(dependencies=kinds)
    assert from_secret(dependency_env(the_run)) == dict.fromkeys(wanted, "shop-deps")
    env = app_env(the_run)
    assert env[0] == {"name": "GREETING", "value": "hi"}
    assert from_secret(env) == dict.fromkeys(wanted, "shop-deps")


def test_no_dependencies_give_no_keys() -> None:
    assert dependency_env(run()) == []
    assert app_env(run()) == [{"name": "GREETING", "value": "hi"}]


def test_older_dependency_type_gives_the_same_keys_as_before() -> None:
    names = [item["name"] for item in dependency_env(run(dependency={"type": "both"}))]
    assert names == ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD",
                     "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"]
