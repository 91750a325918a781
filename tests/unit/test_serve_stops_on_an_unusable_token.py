"""`tekton-runner serve` refuses to start with a token that is set but empty or unusable (exit code 2)."""

from __future__ import annotations

import pytest
from aiohttp import web

from tekton_runner import cli, forwarding


@pytest.fixture
def never_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_app(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started although its settings are refused")

    monkeypatch.setattr(web, "run_app", run_app)  # serve imports aiohttp.web when it runs
    for name in ("TEKTON_RUNNER_TOKEN", "TEKTON_RUNNER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEKTON_RUNNER_REGISTRY", "harbor.test/library")
    monkeypatch.setenv("TEKTON_RUNNER_PUBLIC_URL", "http://runner.test:8088")


@pytest.mark.parametrize("token", ["", "  ", "\n", "with space"])
@pytest.mark.usefixtures("never_serves")
def test_an_unusable_token_stops_serve_with_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], token: str,
) -> None:
    monkeypatch.setenv("TEKTON_RUNNER_TOKEN", token)
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "TEKTON_RUNNER_TOKEN" in error
    assert ("empty" in error) == (not token.strip())


@pytest.mark.usefixtures("never_serves")
def test_any_refused_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TEKTON_RUNNER_PORT", "eighty")
    assert cli.main(["serve"]) == 2
    assert "TEKTON_RUNNER_PORT" in capsys.readouterr().err


def test_a_usable_token_reaches_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[object] = []
    monkeypatch.setattr(web, "run_app", lambda app, **kwargs: served.append(app))
    monkeypatch.setattr(forwarding, "raise_fd_limit", lambda: None)
    monkeypatch.setenv("TEKTON_RUNNER_TOKEN", "s3cret-token")
    monkeypatch.delenv("TEKTON_RUNNER_PORT", raising=False)
    monkeypatch.setenv("TEKTON_RUNNER_REGISTRY", "harbor.test/library")
    monkeypatch.setenv("TEKTON_RUNNER_PUBLIC_URL", "http://runner.test:8088")
    assert cli.main(["serve", "--log-level", "warning"]) == 0
    assert len(served) == 1
