"""Coalesces requests to look at the cluster: at most one look per key runs, and one more is owed.

Tekton's sink is open, so a flood of events must not become a flood of API reads: however many events
name a run while a look at it is running, they add up to a single look after it. Keys are released when
their last look ends, so the map holds only keys with a look running. Used by the orchestrator.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from .scheduler import Scheduler


class Lookouts:
    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._owed: dict[str, bool] = {}  # key -> another look was asked for while one ran
        self._serial = itertools.count()  # a task's name stays taken until its done-callback runs

    def __len__(self) -> int:
        return len(self._owed)

    def request(self, key: str, look: Callable[[], Awaitable[None]]) -> None:
        if key in self._owed:
            self._owed[key] = True
            return
        self._owed[key] = False
        name = f"look:{key}:{next(self._serial)}"
        if not self._scheduler.spawn(name, lambda: self._loop(key, look), limited=False):
            del self._owed[key]  # closing: nothing will run

    async def _loop(self, key: str, look: Callable[[], Awaitable[None]]) -> None:
        try:
            while True:
                await look()
                # No await between this check and the release: a request arriving after it starts anew.
                if not self._owed.get(key):
                    return
                self._owed[key] = False
        finally:
            self._owed.pop(key, None)
