"""`submit --follow`: a run's transitions and its build log shown as they happen, and the exit code its
outcome gives (0 succeeded, 1 otherwise, naming the failing step and reason)."""

from __future__ import annotations

import asyncio
from typing import Any

from .display import Display, describe
from .http import RunnerClient, RunnerError
from .progress import ProgressSource, Transition

Json = dict[str, Any]
RUN_FAILED = 1
LOG_GRACE_SECONDS = 10.0


def failing_step(run: Json) -> Json | None:
    return next((step for step in run.get("steps", []) if step["state"] == "failed"), None)


def summary(run: Json) -> tuple[int, str]:
    """The exit code and last line for a finished run."""
    if run["state"] == "succeeded":
        where = (run.get("endpoint") or {}).get("external") or (run.get("endpoint") or {}).get("host_local")
        return 0, f"run {run['run_id']} succeeded" + (f": reachable at {where}" if where else "")
    step = failing_step(run)
    if step is not None:
        detail = ": ".join(part for part in (step["reason"], step["message"]) if part)
        return RUN_FAILED, f"run {run['run_id']} {run['state']} at step {step['name']}: {detail}"
    return RUN_FAILED, f"run {run['run_id']} {run['state']}: {run['reason']}: {run['message']}"


async def _show_build_log(client: RunnerClient, run_id: str, display: Display) -> None:
    """The build's log lines while it runs; a log that cannot be read is a note, never the run's outcome."""
    try:
        async with client.logs(run_id, step="build", follow=True) as lines:
            async for line in lines:
                display.log(line)
    except RunnerError as error:
        display.note(f"build log: {error}")


async def follow_run(client: RunnerClient, run_id: str, display: Display, progress: ProgressSource) -> int:
    """Shows every transition and the build log until the run ends; returns the exit code."""
    final: Transition | None = None
    async with asyncio.TaskGroup() as group:
        logs = group.create_task(_show_build_log(client, run_id, display))
        async for transition in progress.transitions(run_id):
            display.transition(transition)
            if transition.final:
                final = transition
        # The build log normally ends before the run does; one still open then (a pod that lingers) is let go.
        if not (await asyncio.wait({logs}, timeout=LOG_GRACE_SECONDS))[0]:
            logs.cancel()
    if final is None:
        raise RunnerError(0, "incomplete", f"run {run_id}: progress ended before the run did")
    code, line = summary(final.run)
    display.note(line)
    return code


__all__ = ["describe", "follow_run", "summary"]
