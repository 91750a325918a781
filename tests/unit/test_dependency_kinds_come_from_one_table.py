"""Each dependency kind is one table entry: its template and golden file exist, its image is a setting
with a TEKTON_RUNNER_* variable, its credentials give exactly its env keys and keep stored passwords."""

from __future__ import annotations

from pathlib import Path

import pytest

from tekton_runner.manifests.rendering import templates_dir
from tekton_runner.models.dependencies import DEPENDENCY_ENV_KEYS, KINDS, DependencyKind, kinds_named
from tekton_runner.models.environment import settings_from_env, variables
from tekton_runner.models.settings import Settings
from tekton_runner.models.spec import RESERVED_ENV

GOLDEN = Path(__file__).parent / "golden"
KIND_LIST = list(KINDS.values())
REQUIRED = {"TEKTON_RUNNER_REGISTRY": "harbor.lan/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088"}


@pytest.mark.parametrize("kind", KIND_LIST, ids=list(KINDS))
def test_kind_has_a_template_and_a_golden_file(kind: DependencyKind) -> None:
    assert (templates_dir() / kind.template).is_file()
    assert (GOLDEN / kind.template.replace(".yaml.j2", ".json")).is_file()


@pytest.mark.parametrize("kind", KIND_LIST, ids=list(KINDS))
def test_kind_image_is_a_setting_read_from_its_variable(kind: DependencyKind) -> None:
    variable = variables()[(kind.image_setting,)]
    assert variable == f"TEKTON_RUNNER_{kind.name.upper()}_IMAGE"
    assert kind.image(settings_from_env(REQUIRED)) == Settings.model_fields[kind.image_setting].default
    assert kind.image(settings_from_env({**REQUIRED, variable: "harbor.lan/mirror/x:1"})) == "harbor.lan/mirror/x:1"


@pytest.mark.parametrize("kind", KIND_LIST, ids=list(KINDS))
def test_credentials_give_exactly_the_env_keys_and_keep_stored_passwords(kind: DependencyKind) -> None:
    host = f"shop-{kind.name}.ws-demo.svc"
    first = kind.credentials_for(host, {})
    assert sorted(first) == sorted(kind.env_keys)
    assert str(kind.port) in first.values() and host in first.values()
    again = kind.credentials_for(host, first)
    assert again == first
    assert kind.credentials_for(host, {}) != first  # a new password when none is stored


def test_env_keys_belong_to_one_kind_each_and_are_reserved() -> None:
    every = [key for kind in KIND_LIST for key in kind.env_keys]
    assert len(every) == len(set(every))
    assert RESERVED_ENV == DEPENDENCY_ENV_KEYS == set(every)


def test_rabbitmq_gives_an_amqp_url_for_its_user_on_the_default_virtual_host() -> None:
    values = KINDS["rabbitmq"].credentials_for("shop-rabbitmq.ws-demo.svc", {"RABBITMQ_PASSWORD": "pw"})
    assert values == {
        "AMQP_URL": "amqp://app:pw@shop-rabbitmq.ws-demo.svc:5672/%2F",
        "RABBITMQ_HOST": "shop-rabbitmq.ws-demo.svc", "RABBITMQ_PORT": "5672",
        "RABBITMQ_USER": "app", "RABBITMQ_PASSWORD": "pw",
    }


def test_kinds_are_taken_in_table_order_and_unknown_ones_refused() -> None:
    assert [kind.name for kind in kinds_named(["rabbitmq", "redis"])] == ["redis", "rabbitmq"]
    with pytest.raises(KeyError):
        kinds_named(["mongo"])
