"""How many log follows are open, bounded by TEKTON_RUNNER_LOGS_MAX_FOLLOWS; one per app, used by the logs route."""

from __future__ import annotations

import asyncio


class FollowSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def take(self) -> bool:
        """A slot for one more follow, or False when all are in use."""
        if self.active >= self.limit:
            return False
        self.active += 1
        self._idle.clear()
        return True

    def give_back(self) -> None:
        self.active -= 1
        if self.active == 0:
            self._idle.set()

    async def idle(self) -> None:
        """Returns once no follow is open (tests wait on it instead of sleeping)."""
        await self._idle.wait()
