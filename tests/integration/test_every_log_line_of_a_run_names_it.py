"""Through a real run (POST /run, the Tekton event, the chain), every line about the run carries its fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tekton_runner.models.logcontext import JsonFormatter, RunFieldsFilter
from tests.integration.harness import Harness, spec


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunFieldsFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tekton_runner")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_every_line_about_a_run_carries_run_workspace_app_and_taskrun(
    harness: Harness, json_lines: io.StringIO
) -> None:
    run = await harness.run_to_success(spec())
    run_id = run["run_id"]
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    about = [line for line in lines if run_id in str(line["message"])]
    assert len(about) >= 6, lines  # the event, four steps started and ended, the run's end
    for line in about:
        assert (line.get("run_id"), line.get("workspace"), line.get("app")) == (run_id, "demo", "shop"), line
        assert line.get("taskrun") == f"build-{run_id}", line
    steps = {str(line["step"]) for line in about if "step" in line}
    assert steps == {"build", "dependency", "migration", "app", "forward"}, about
    ended = [line for line in about if "succeeded Deployed" in str(line["message"])]
    assert len(ended) == 1 and "step" not in ended[0]  # the run's end belongs to no step
