"""The external ports of a replica that may or may not lead: the plane opened for the current leader term,
or nothing. The chain and the HTTP layer hold this one object; the app attaches a plane while leading.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from .plane import ForwardPlane


class PlaneSwitch:
    def __init__(self) -> None:
        self._plane: ForwardPlane | None = None

    @asynccontextmanager
    async def attached(self, plane: ForwardPlane) -> AsyncIterator[None]:
        self._plane = plane
        try:
            yield
        finally:
            self._plane = None

    async def publish(self, port: int, target_host: str, target_port: int) -> None:
        if self._plane is not None:
            await self._plane.publish(port, target_host, target_port)

    async def withdraw(self, port: int) -> None:
        if self._plane is not None:
            await self._plane.withdraw(port)

    async def keep_only(self, ports: Iterable[int]) -> None:
        """Closes the ports not among `ports` (released by another replica since they were opened here)."""
        if self._plane is None:
            return
        wanted = set(ports)
        for stats in self._plane.snapshot():
            if stats.listen.port not in wanted:
                await self._plane.withdraw(stats.listen.port)

    async def refresh(self) -> None:
        if self._plane is not None:
            await self._plane.refresh()

    def describe(self, port: int) -> dict[str, Any]:
        return self._plane.describe(port) if self._plane is not None else {"state": "not-relayed"}

    def check_address(self, port: int) -> str:
        return self._plane.check_address(port) if self._plane is not None else f"127.0.0.1:{port}"

    async def can_bind(self, port: int) -> bool:
        """A follower relays nothing; the leader's check decides once it publishes."""
        return await self._plane.can_bind(port) if self._plane is not None else True
