"""The clock decisions are made by (timestamps, deadlines, back-off); passed in so tests can run on fake time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall time: what is stored and compared with stored times."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back: for deadlines within this process."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
