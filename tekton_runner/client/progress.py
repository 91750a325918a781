"""A run's progress as transitions (a step or the run changed state); today read by polling GET /runs/{id}.

`ProgressSource` is the one seam: a source built on the runner's progress stream can replace
`PollingProgress` without touching the display or the follow loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from .http import RunnerClient

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
