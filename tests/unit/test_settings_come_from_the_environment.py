"""TEKTON_RUNNER_* variables (and KUBECONFIG) configure the service; flags override them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tekton_runner.models.settings import settings_from_env


def test_variables_are_read_and_typed() -> None:
    settings = settings_from_env({
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
    settings = settings_from_env({"TEKTON_RUNNER_PORT": "9000"}, port=9100, host=None)
    assert settings.port == 9100 and settings.host == "0.0.0.0"


def test_defaults_put_state_under_the_data_directory() -> None:
    settings = settings_from_env({"TEKTON_RUNNER_DATA_DIR": "/var/lib/tr"})
    assert settings.database_path == Path("/var/lib/tr/state.sqlite3")
    assert settings.build_namespace == "tekton-builds"
    assert settings.base_url == "http://127.0.0.1:8088"


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(ValidationError, match="port"):
        settings_from_env({"TEKTON_RUNNER_PORT": "eighty"})
