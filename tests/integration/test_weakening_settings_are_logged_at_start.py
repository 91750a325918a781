"""Every setting that lowers the service's guard is logged as a warning when the app starts."""

from __future__ import annotations

import logging

import pytest

from tests.integration.harness import Harness


async def test_a_runner_without_a_token_says_so_at_start(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await harness.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tekton_runner"):
        await harness.start(workspaces={"registry_http": True})
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("TEKTON_RUNNER_TOKEN is not set" in message for message in warnings)
    assert any("plain HTTP" in message for message in warnings)


async def test_a_guarded_runner_warns_of_nothing(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await harness.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tekton_runner"):
        await harness.start(token="s3cret", events_path_secret="sink-0123456789abcdef")
    assert [record.getMessage() for record in caplog.records if "security" in record.getMessage()] == []
