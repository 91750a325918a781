"""The runner's external ports on top of the relay table: one mapping per external port."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from .errors import PortUnavailable
from .metrics import register_metrics
from .table import ForwardTable


def _mapping_id(port: int) -> str:
    return f"port-{port}"


class ForwardPlane:
    """Publishes, moves and withdraws external ports; the chain and the HTTP layer see only this."""

    def __init__(self, table: ForwardTable, listen_host: str) -> None:
        self._table = table
        self._host = listen_host

    async def publish(self, port: int, target_host: str, target_port: int) -> None:
        """Relays `port` to the target; an existing mapping is moved without a new listener."""
        mapping = _mapping_id(port)
        if mapping in self._table:
            await self._table.retarget(mapping, target_host, target_port)
        else:
            await self._table.open(mapping, self._host, port, target_host, target_port)

    async def withdraw(self, port: int) -> None:
        mapping = _mapping_id(port)
        if mapping in self._table:
            await self._table.close(mapping)

    def describe(self, port: int) -> dict[str, Any]:
        mapping = _mapping_id(port)
        if mapping not in self._table:
            return {"state": "not-relayed"}
        stats = self._table.stats(mapping)
        return {
            "state": str(stats.state), "bytes_to_target": stats.bytes_to_target,
            "bytes_to_client": stats.bytes_to_client, "connections_active": stats.connections_active,
            "connections_total": stats.connections_total, "connect_failures": stats.connect_failures,
            "last_error": stats.last_error,
        }

    async def can_bind(self, port: int) -> bool:
        """False when another process holds the port (a mapping of ours counts as free: it is reused)."""
        if _mapping_id(port) in self._table:
            return True
        return await asyncio.to_thread(_bindable, self._host, port)


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


@asynccontextmanager
async def forward_plane(listen_host: str, *, registry: CollectorRegistry) -> AsyncIterator[ForwardPlane]:
    """A relay table with its metrics for the service's lifetime; every mapping is closed at the end."""
    async with ForwardTable() as table:
        collector = register_metrics(table.snapshot, registry=registry)
        try:
            yield ForwardPlane(table, listen_host)
        finally:
            registry.unregister(collector)


__all__ = ["ForwardPlane", "PortUnavailable", "forward_plane"]
