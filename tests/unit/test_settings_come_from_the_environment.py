"""TEKTON_RUNNER_* variables (and KUBECONFIG) configure the service once; flags override them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from tekton_runner.cli import main
from tekton_runner.models.environment import explain, settings_from_env, variables
from tekton_runner.models.settings import Settings, reveal, weakened_security

SITE = {"TEKTON_RUNNER_REGISTRY": "harbor.example.com/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088/"}


def test_variables_are_read_and_typed() -> None:
    settings = settings_from_env({**SITE,
        "KUBECONFIG": "/etc/kube/config", "TEKTON_RUNNER_PORT": "9000", "TEKTON_RUNNER_FORWARD": "false",
        "TEKTON_RUNNER_LOCAL_ROOTS": "/srv/src:/home/dev/code", "TEKTON_RUNNER_EXTERNAL_PORT_RANGE": "20000-20099",
        "TEKTON_RUNNER_TOKEN": "s3cret", "TEKTON_RUNNER_RESYNC_SECONDS": "5",
    })
    assert settings.kubeconfig == "/etc/kube/config"
    assert settings.port == 9000 and settings.forward is False and settings.resync_seconds == 5.0
    assert settings.local_roots == (Path("/srv/src"), Path("/home/dev/code"))
    assert settings.external_port_range == (20000, 20099)
    assert reveal(settings.token) == "s3cret"


def test_secrets_never_show_in_repr() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_TOKEN": "s3cret", "TEKTON_RUNNER_REGISTRY_USERNAME": "robot",
                                  "TEKTON_RUNNER_REGISTRY_PASSWORD": "hunter2"})
    assert isinstance(settings.token, SecretStr)
    assert "s3cret" not in repr(settings) and "hunter2" not in repr(settings)
    assert settings.workspaces.registry_password is not None
    assert settings.workspaces.registry_password.get_secret_value() == "hunter2"


def test_flags_win_over_variables() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_PORT": "9000"}, port=9100, host=None)
    assert settings.port == 9100 and settings.host == "0.0.0.0"


def test_defaults_put_state_under_the_data_directory() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_DATA_DIR": "/var/lib/tr"})
    assert settings.database_path == Path("/var/lib/tr/state.sqlite3")
    assert settings.workspaces.kind_state_dir == Path("/var/lib/tr/kind")
    assert settings.build_namespace == "tekton-builds"
    assert settings.base_url == "http://runner.lan:8088"
    assert settings.registry == "harbor.example.com/library"


def test_a_postgresql_url_selects_the_shared_store_and_its_password_stays_secret() -> None:
    assert settings_from_env(SITE).database_url is None  # the SQLite file
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_DATABASE_URL": "postgresql://runner:pw@db.lan:5433/runner"})
    assert reveal(settings.database_url) == "postgresql://runner:pw@db.lan:5433/runner"
    assert settings.state_location == "postgresql://db.lan:5433/runner" and "pw" not in repr(settings)
    assert settings_from_env({**SITE, "TEKTON_RUNNER_DATABASE_URL": " "}).database_url is None
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, "TEKTON_RUNNER_DATABASE_URL": "mysql://runner:pw@db.lan/runner"})
    assert explain(caught.value).startswith("TEKTON_RUNNER_DATABASE_URL: ") and "pw" not in explain(caught.value)


def test_the_registry_host_follows_the_image_repository() -> None:
    assert settings_from_env(SITE).workspaces.registry_host == "harbor.example.com"
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY": "harbor.lan:8443/library"})
    assert settings.workspaces.registry_host == "harbor.lan:8443"
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY_HOST": "10.0.0.5:8443"})
    assert settings.workspaces.registry_host == "10.0.0.5:8443" and settings.registry_host == "harbor.example.com"


def test_the_environment_is_read_only_through_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEKTON_RUNNER_PORT", "9000")
    assert Settings(registry="harbor.test/library", public_url="http://runner.test").port == 8088


def test_every_variable_names_one_field() -> None:
    names = list(variables().values())
    assert len(names) == len(set(names))
    assert "TEKTON_RUNNER_WORKSPACE_PROVISIONER" in names and "TEKTON_RUNNER_REGISTRY_PASSWORD" in names


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, "TEKTON_RUNNER_PORT": "eighty"})
    assert explain(caught.value).startswith("TEKTON_RUNNER_PORT: ")


@pytest.mark.parametrize("token", ["", "   ", "\t\n", "two words", "tökén"])
def test_an_empty_or_unusable_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, "TEKTON_RUNNER_TOKEN": token})
    message = explain(caught.value)
    assert message.startswith("TEKTON_RUNNER_TOKEN: ")
    assert token.strip() == "" or token not in message


def test_the_sink_path_secret_is_a_secret_and_must_be_strong() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_EVENTS_PATH_SECRET": "sink-0123456789abcdef",
                                  "TEKTON_RUNNER_REGISTRY_TOKEN_REALMS": "a.example.com, b.example.com"})
    assert reveal(settings.events_path_secret) == "sink-0123456789abcdef"
    assert "sink-0123456789abcdef" not in repr(settings)
    assert settings.registry_token_realms == ("a.example.com", "b.example.com")
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, "TEKTON_RUNNER_EVENTS_PATH_SECRET": "short"})
    assert explain(caught.value).startswith("TEKTON_RUNNER_EVENTS_PATH_SECRET: ")
    assert "short" not in explain(caught.value)


def test_older_registry_spellings_mean_the_same_setting() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY_SCHEME": "http",
                                  "TEKTON_RUNNER_REGISTRY_VERIFY_TLS": "no"})
    assert settings.workspaces.registry_http and settings.workspaces.registry_insecure
    with pytest.raises(ValueError, match="contradicts TEKTON_RUNNER_REGISTRY_HTTP"):
        settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY_SCHEME": "https", "TEKTON_RUNNER_REGISTRY_HTTP": "true"})
    with pytest.raises(ValueError, match="http or https"):
        settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY_SCHEME": "ftp"})


GUARDED = {"TEKTON_RUNNER_TOKEN": "s3cret", "TEKTON_RUNNER_FORWARD_LISTEN_HOST": "10.0.0.5",
           "TEKTON_RUNNER_EVENTS_PATH_SECRET": "sink-0123456789abcdef"}


def test_a_guarded_configuration_has_nothing_to_warn_about() -> None:
    assert weakened_security(settings_from_env({**SITE, **GUARDED})) == []


@pytest.mark.parametrize(("environ", "named"), [
    ({"TEKTON_RUNNER_TOKEN": None}, "TEKTON_RUNNER_TOKEN"),
    ({"TEKTON_RUNNER_REGISTRY_HTTP": "true"}, "TEKTON_RUNNER_REGISTRY_HTTP"),
    ({"TEKTON_RUNNER_REGISTRY_SCHEME": "http"}, "plain HTTP"),
    ({"TEKTON_RUNNER_REGISTRY_INSECURE": "yes"}, "TEKTON_RUNNER_REGISTRY_INSECURE"),
    ({"TEKTON_RUNNER_REGISTRY_VERIFY_TLS": "false"}, "not verified"),
    ({"TEKTON_RUNNER_FORWARD_LISTEN_HOST": "0.0.0.0"}, "TEKTON_RUNNER_FORWARD_LISTEN_HOST"),
    ({"TEKTON_RUNNER_FORWARD_LISTEN_HOST": "::"}, "all addresses"),
    ({"TEKTON_RUNNER_WORKSPACE_PROVISIONER": "kind", "TEKTON_RUNNER_KIND_NODE_PORTS": "30000-30099",
      "TEKTON_RUNNER_KIND_LISTEN_ADDRESS": "0.0.0.0"}, "TEKTON_RUNNER_KIND_LISTEN_ADDRESS"),
    ({"TEKTON_RUNNER_LOCAL_ROOTS": "/"}, "TEKTON_RUNNER_LOCAL_ROOTS"),
    ({"TEKTON_RUNNER_EVENTS_PATH_SECRET": None}, "TEKTON_RUNNER_EVENTS_PATH_SECRET"),
    ({"TEKTON_RUNNER_REGISTRY_TOKEN_REALMS": "auth.example.com"}, "auth.example.com"),
])
def test_each_weakening_setting_is_named(environ: dict[str, str | None], named: str) -> None:
    given = {name: value for name, value in {**GUARDED, **environ}.items() if value is not None}
    warnings = weakened_security(settings_from_env({**SITE, **given}))
    assert len(warnings) == 1 and named in warnings[0]


@pytest.mark.parametrize("unset", ["TEKTON_RUNNER_REGISTRY", "TEKTON_RUNNER_PUBLIC_URL"])
def test_serve_refuses_to_start_without_the_site_settings(
    unset: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in SITE:
        monkeypatch.delenv(name, raising=False)
    for name, value in SITE.items():
        if name != unset:
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("TEKTON_RUNNER_TOKEN", raising=False)
    monkeypatch.setenv("TEKTON_RUNNER_DATA_DIR", str(tmp_path))
    assert main(["serve", "--port", "1"]) == 2  # exits before it listens or opens anything
    error = capsys.readouterr().err
    assert error.startswith("tekton-runner: required settings are not set: ") and unset in error
    assert [name for name in SITE if f"{name} " in error] == [unset]
    assert "invalid settings" not in error  # what follows from the unset one is not reported twice
    assert list(tmp_path.iterdir()) == []


def test_an_empty_site_setting_is_refused_not_used() -> None:
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY": ""})
    assert explain(caught.value).startswith("TEKTON_RUNNER_REGISTRY: ")


def test_leader_election_is_off_and_lease_timing_must_be_ordered() -> None:
    settings = settings_from_env(SITE)
    assert settings.leader_election is False  # one replica: no Lease is read or written
    assert settings.identity.endswith(f"_{os.getpid()}")
    elected = settings_from_env({**SITE, "TEKTON_RUNNER_LEADER_ELECTION": "true",
                                 "TEKTON_RUNNER_LEASE_IDENTITY": "tekton-runner-7d9f-x2"})
    assert elected.leader_election and elected.identity == "tekton-runner-7d9f-x2"
    with pytest.raises(ValidationError, match="lease_renew_deadline < lease_duration"):
        settings_from_env({**SITE, "TEKTON_RUNNER_LEASE_DURATION": "10", "TEKTON_RUNNER_LEASE_RENEW_DEADLINE": "10"})
