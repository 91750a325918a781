"""The client's progress: each step or run change is reported once, in the run's step order; the terminal
display draws the steps, and piped output stays plain lines."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from tekton_runner.client.display import LiveDisplay, PlainDisplay, display_for
from tekton_runner.client.progress import changes

Json = dict[str, Any]


def _run(state: str, **steps: tuple[str, str]) -> Json:
    return {"run_id": "r-1", "state": state, "reason": "", "message": "",
            "steps": [{"name": name, "state": s, "reason": r, "message": ""} for name, (s, r) in steps.items()]}


def test_each_change_is_reported_once_and_pending_steps_are_not_news() -> None:
    first = _run("building", build=("running", "Started"), app=("pending", ""))
    assert [(t.step, t.state) for t in changes(None, first)] == [("build", "running"), (None, "building")]
    assert changes(first, first) == []
    later = _run("failed", build=("failed", "StepFailed"), app=("skipped", "BuildFailed"))
    assert [(t.step, t.state, t.final) for t in changes(first, later)] == [
        ("build", "failed", False), ("app", "skipped", False), (None, "failed", True)]


def test_piped_output_is_plain_and_a_terminal_gets_the_live_table() -> None:
    assert isinstance(display_for(io.StringIO()), PlainDisplay)
    screen = io.StringIO()
    with LiveDisplay(Console(file=screen, force_terminal=True, width=100)) as display:
        for transition in changes(None, _run("building", build=("running", "Started"), app=("pending", ""))):
            display.transition(transition)
        display.log("[fetch-source] cloning")
    drawn = screen.getvalue()
    assert "[fetch-source] cloning" in drawn and "run r-1: building" in drawn and "build" in drawn
