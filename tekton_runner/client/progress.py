"""A run's progress as transitions (a step or the run changed state).

`StreamProgress` reads the runner's stream (GET /runs/{id}/events) and resumes it after a dropped
connection; `PollingProgress` reads GET /runs/{id} now and then, for runners or proxies without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .http import RunnerClient, RunnerError

Json = dict[str, Any]
TERMINAL_STATES = frozenset({"succeeded", "failed", "deleted"})


@dataclass(frozen=True)
class Transition:
    """`step` None: the run itself changed state."""

    step: str | None
    state: str
    reason: str
    message: str
    run: Json  # the run as it was when this transition was seen

    @property
    def final(self) -> bool:
        return self.step is None and self.state in TERMINAL_STATES


class ProgressSource(Protocol):
    def transitions(self, run_id: str) -> AsyncIterator[Transition]:
        """Every transition of the run in order, ending after the run's final one."""
        ...


def changes(before: Json | None, after: Json) -> list[Transition]:
    """The transitions between two views of a run: steps first (in the run's order), then the run."""
    seen = {step["name"]: (step["state"], step["reason"]) for step in (before or {}).get("steps", [])}
    found = [
        Transition(step["name"], step["state"], step["reason"], step["message"], after)
        for step in after.get("steps", [])
        if seen.get(step["name"]) != (step["state"], step["reason"]) and (before or step["state"] != "pending")
    ]
    if before is None or (before["state"], before["reason"]) != (after["state"], after["reason"]):
        found.append(Transition(None, after["state"], after["reason"], after["message"], after))
    return found


class StreamProgress:
    """Follows GET /runs/{id}/events; a dropped stream is resumed after the last transition seen."""

    def __init__(self, client: RunnerClient, *, retries: int = 30, retry_delay: float = 1.0) -> None:
        self._client = client
        self._retries = retries
        self._retry_delay = retry_delay

    async def transitions(self, run_id: str) -> AsyncIterator[Transition]:
        run = await self._client.run(run_id)
        last, failures = 0, 0
        while True:
            try:
                async with self._client.events(run_id, after=last) as messages:
                    async for message in messages:
                        last, failures = message["id"] or last, 0
                        run = apply(run, message)
                        transition = Transition(message.get("step"), message["state"], message.get("reason", ""),
                                                message.get("message", ""), run)
                        if transition.final:  # the whole run as it ended, endpoint included
                            transition = replace(transition, run=await self._client.run(run_id))
                        yield transition
                        if transition.final:
                            return
            except RunnerError as error:
                if error.status not in (0, 502, 503, 504) or failures >= self._retries:
                    raise
            failures += 1  # the stream ended early (the runner restarting): resume where it stopped
            if failures > self._retries:
                raise RunnerError(0, "stream ended", f"the progress of run {run_id} stopped arriving")
            await asyncio.sleep(self._retry_delay)


def apply(run: Json, message: Json) -> Json:
    """The run view with one transition applied (a step's or the run's state, reason and message)."""
    change = {"state": message["state"], "reason": message.get("reason", ""), "message": message.get("message", "")}
    if message.get("step") is None:
        return {**run, **change}
    steps = [{**step, **change} if step["name"] == message["step"] else step for step in run.get("steps", [])]
    return {**run, "steps": steps}


class PollingProgress:
    """Reads the run every `interval` seconds and reports what changed."""

    def __init__(self, client: RunnerClient, *, interval: float = 1.0) -> None:
        self._client = client
        self._interval = interval

    async def transitions(self, run_id: str) -> AsyncIterator[Transition]:
        before: Json | None = None
        while True:
            after = await self._client.run(run_id)
            for transition in changes(before, after):
                yield transition
            if after["state"] in TERMINAL_STATES:
                return
            before = after
            await asyncio.sleep(self._interval)
