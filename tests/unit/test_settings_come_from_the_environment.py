"""TEKTON_RUNNER_* variables (and KUBECONFIG) configure the service; flags override them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tekton_runner.cli import main
from tekton_runner.models.settings import settings_from_env

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
    assert settings.token == "s3cret"


def test_flags_win_over_variables() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_PORT": "9000"}, port=9100, host=None)
    assert settings.port == 9100 and settings.host == "0.0.0.0"


def test_defaults_put_state_under_the_data_directory() -> None:
    settings = settings_from_env({**SITE, "TEKTON_RUNNER_DATA_DIR": "/var/lib/tr"})
    assert settings.database_path == Path("/var/lib/tr/state.sqlite3")
    assert settings.build_namespace == "tekton-builds"
    assert settings.base_url == "http://runner.lan:8088"
    assert settings.registry == "harbor.example.com/library"


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(ValidationError, match="port"):
        settings_from_env({**SITE, "TEKTON_RUNNER_PORT": "eighty"})


@pytest.mark.parametrize("unset", ["TEKTON_RUNNER_REGISTRY", "TEKTON_RUNNER_PUBLIC_URL"])
def test_serve_refuses_to_start_without_the_site_settings(
    unset: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in SITE:
        monkeypatch.delenv(name, raising=False)
    for name, value in SITE.items():
        if name != unset:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEKTON_RUNNER_DATA_DIR", str(tmp_path))
    assert main(["serve", "--port", "1"]) == 2  # exits before it listens or opens anything
    error = capsys.readouterr().err
    assert error.startswith("tekton-runner: required settings are not set: ") and unset in error
    assert [name for name in SITE if name in error] == [unset]
    assert list(tmp_path.iterdir()) == []


def test_an_empty_site_setting_is_refused_not_used() -> None:
    with pytest.raises(ValidationError, match="registry"):
        settings_from_env({**SITE, "TEKTON_RUNNER_REGISTRY": ""})
