"""Log lines name the run they belong to: JSON lines on request, text by default, fields from the context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tekton_runner.models.environment import settings_from_env
from tekton_runner.models.ids import RunId
from tekton_runner.models.logcontext import bind, bind_run, bound, configure
from tekton_runner.models.runs import Run, RunState
from tekton_runner.models.spec import RunSpec

RUN = Run(
    id=RunId("r-00000000000000aa"), state=RunState.DEPLOYING, image="harbor.test/library/demo-shop:r-1",
    spec=RunSpec.model_validate({
        "workspace": "demo", "app": {"name": "shop", "port": 8080},
        "source": {"type": "git", "url": "https://git.example.com/shop.git", "revision": "main"},
    }),
    created_at=datetime(2026, 12, 1, tzinfo=UTC), updated_at=datetime(2026, 12, 1, tzinfo=UTC),
)


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_run_workspace_app_step_and_taskrun(root_logging: None) -> None:
    stream = io.StringIO()
    configure(level=logging.INFO, format="json", stream=stream)
    log = logging.getLogger("tekton_runner.test")
    log.info("outside any run")
    with bind_run(RUN, taskrun="build-r-00000000000000aa"), bind(step="app"):
        log.warning("applying %s", "Deployment")
    first, second = _json_lines(stream)
    assert first["message"] == "outside any run" and "run_id" not in first
    assert second["message"] == "applying Deployment" and second["level"] == "warning"
    assert {key: second[key] for key in ("run_id", "workspace", "app", "step", "taskrun")} == {
        "run_id": "r-00000000000000aa", "workspace": "demo", "app": "shop", "step": "app",
        "taskrun": "build-r-00000000000000aa"}
    assert second["logger"] == "tekton_runner.test"


def test_a_traceback_stays_inside_its_json_line(root_logging: None) -> None:
    stream = io.StringIO()
    configure(level=logging.INFO, format="json", stream=stream)
    with bind_run(RUN):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("tekton_runner.test").exception("step crashed")
    (line,) = _json_lines(stream)
    assert "RuntimeError: boom" in str(line["exception"]) and line["run_id"] == RUN.id


def test_text_is_the_default_and_appends_the_fields(root_logging: None) -> None:
    site = {"TEKTON_RUNNER_REGISTRY": "harbor.test/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.test"}
    assert settings_from_env(site).log_format == "text"
    stream = io.StringIO()
    configure(level=logging.INFO, format="text", stream=stream)
    with bind_run(RUN, step="migration"):
        logging.getLogger("tekton_runner.test").info("job started")
    text = stream.getvalue()
    fields = "[run_id=r-00000000000000aa workspace=demo app=shop step=migration]"
    assert f"INFO tekton_runner.test: job started {fields}" in text
    with pytest.raises(ValueError):
        json.loads(text)


def test_a_run_binding_replaces_the_step_but_keeps_the_runs_taskrun() -> None:
    with bind_run(RUN, step="build", taskrun="github-push-x7k2p"):
        with bind_run(RUN):
            assert dict(bound()) == {"run_id": RUN.id, "workspace": "demo", "app": "shop",
                                     "taskrun": "github-push-x7k2p"}
        other = RUN.model_copy(update={"id": RunId("r-00000000000000bb")})
        with bind_run(other):
            assert "taskrun" not in bound() and bound()["run_id"] == "r-00000000000000bb"
    assert dict(bound()) == {}


async def test_tasks_started_inside_a_binding_keep_it_and_do_not_leak_it() -> None:
    seen: list[dict[str, str]] = []

    async def child() -> None:
        seen.append(dict(bound()))

    with bind_run(RUN, step="dependency"):
        task = asyncio.get_running_loop().create_task(child())
    await task
    assert seen == [{"run_id": RUN.id, "workspace": "demo", "app": "shop", "step": "dependency"}]
    assert dict(bound()) == {}


def test_unknown_fields_and_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown log fields"):
        bind(user="someone")
    with pytest.raises(ValueError, match="log_format"):
        settings_from_env({"TEKTON_RUNNER_REGISTRY": "harbor.test/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.test",
                           "TEKTON_RUNNER_LOG_FORMAT": "yaml"})
