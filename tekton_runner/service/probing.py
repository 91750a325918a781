"""TCP reachability checks and the traffic view of external ports, read by the endpoints and port checks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol


class ForwardView(Protocol):
    """What the HTTP layer may read of the port-forward data plane."""

    def describe(self, port: int) -> dict[str, Any]: ...

    async def refresh(self) -> None: ...

    def check_address(self, port: int) -> str: ...

    async def can_bind(self, port: int) -> bool: ...


class NoTraffic:
    """When this process relays nothing, it neither counts traffic nor owns ports."""

    def describe(self, port: int) -> dict[str, Any]:
        return {"state": "not-relayed"}

    async def refresh(self) -> None:
        return None

    def check_address(self, port: int) -> str:
        return f"127.0.0.1:{port}"

    async def can_bind(self, port: int) -> bool:
        return True


async def reachable(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """True when a TCP connection to host:port opens within `timeout`."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)
