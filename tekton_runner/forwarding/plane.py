"""The runner's external ports: one mapping per port, carried by a DNAT rule where it can be, else the relay.

Built by app.py for the service's lifetime; the chain publishes and withdraws through it, the HTTP layer
reads it (`describe`, `snapshot`). Which path a mapping takes is decided here and nowhere else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry

from ..models.settings import ForwardEngine
from .dnat import WILDCARDS, KernelPath, is_local, refusal, source_address
from .errors import PortUnavailable
from .kernel import TABLE, DnatRule, KernelPathError, NftDnat
from .metrics import register_metrics
from .relaying import EngineName, RelayOptions
from .stats import Address, MappingId, MappingStats
from .table import ForwardTable

log = logging.getLogger(__name__)
_RELAY_ENGINE: dict[ForwardEngine, EngineName] = {"auto": "auto", "dnat": "auto", "splice": "splice",
                                                  "asyncio": "transports"}


def _mapping_id(port: int) -> MappingId:
    return MappingId(f"port-{port}")


class ForwardPlane:
    """Publishes, moves and withdraws external ports; the chain and the HTTP layer see only this.

    Every mapping holds a listener in the relay table, whatever its path: it keeps the port from other
    processes and relays whatever reaches it. A DNAT rule in front of it takes the connections before they
    reach the listener; when the rule cannot be loaded the listener is already there to carry them.
    """

    def __init__(
        self, table: ForwardTable, listen_host: str, *, engine: ForwardEngine = "auto",
        kernel: KernelPath | None = None,
    ) -> None:  # fmt: skip
        self._table = table
        self._host = listen_host
        self._engine = engine
        self._kernel = kernel
        self._reach: dict[int, str] = {}  # where a check from this host reaches a DNAT port

    async def restore(self, mappings: Iterable[tuple[int, str, int]]) -> None:
        """At start: open every stored mapping and load the kernel table with exactly their rules."""
        rules: list[DnatRule] = []
        for port, host, target_port in mappings:
            reason = await self._refusal(host)
            if reason is not None and self._engine == "dnat":
                log.error("external port %d not re-opened: %s", port, reason)
                continue
            try:
                await self._relay(port, host, target_port)
            except PortUnavailable as error:
                log.error("external port %d not re-opened: %s", port, error)
                continue
            if reason is None:
                rules.append(self._rule(port, host, target_port))
        if self._kernel is None or not self._kernel.capable:
            return
        try:
            await self._kernel.reconcile(rules)
        except KernelPathError as error:
            if self._engine == "dnat":
                raise
            log.warning("nft table %s not loaded, the relay carries every port: %s", self._kernel.table, error)
            await self._kernel.probe()
            return
        for rule in rules:
            self._reach[rule.listen_port] = f"{await self._check_address(rule.target.host)}:{rule.listen_port}"

    async def publish(self, port: int, target_host: str, target_port: int) -> None:
        """Carries `port` to the target; an existing mapping is moved without a new listener.

        Raises PortUnavailable when another process holds the port; with the `dnat` engine, KernelPathError
        when the kernel path cannot take this mapping (nothing is published then).
        """
        mapping = _mapping_id(port)
        reason = await self._refusal(target_host)
        if reason is not None and self._engine == "dnat":
            await self.withdraw(port)
            raise KernelPathError(f"external port {port} cannot take the kernel path: {reason}")
        await self._relay(port, target_host, target_port)
        if reason is None and self._kernel is not None:
            try:
                await self._kernel.put(self._rule(port, target_host, target_port))
            except KernelPathError as error:
                if self._engine == "dnat":
                    await self.withdraw(port)
                    raise
                log.warning("external port %d: nft refused its rule, the relay carries it: %s", port, error)
                await self._kernel.probe()  # capability lost? then later mappings go straight to the relay
                reason = str(error)
            else:
                self._reach[port] = f"{await self._check_address(target_host)}:{port}"
                log.info("external port %d -> %s:%d by DNAT", port, target_host, target_port)
                return
        self._reach.pop(port, None)
        if self._kernel is not None and mapping in self._kernel:
            await self._kernel.remove(mapping)  # moved to a target the kernel path cannot take
        log.info("external port %d -> %s:%d by the %s relay (%s)", port, target_host, target_port,
                 self._table.path, reason)

    async def withdraw(self, port: int) -> None:
        """Stop carrying `port`: its listener closes and its rule goes (idempotent)."""
        mapping = _mapping_id(port)
        if mapping in self._table:
            await self._table.close(mapping)
        if self._kernel is not None and mapping in self._kernel:
            await self._kernel.remove(mapping)
        self._reach.pop(port, None)

    async def refresh(self) -> None:
        """Read the kernel counters now; /external-map and /metrics call this before reading."""
        if self._kernel is not None and self._kernel.capable:
            await self._kernel.refresh()

    def describe(self, port: int) -> dict[str, Any]:
        mapping = _mapping_id(port)
        if mapping not in self._table:
            return {"state": "not-relayed"}
        stats = self._stats(self._table.stats(mapping))
        return {
            "state": str(stats.state), "path": stats.path, "bytes_to_target": stats.bytes_to_target,
            "bytes_to_client": stats.bytes_to_client, "connections_active": stats.connections_active,
            "connections_total": stats.connections_total, "connect_failures": stats.connect_failures,
            "last_error": stats.last_error,
        }  # fmt: skip

    def snapshot(self) -> list[MappingStats]:
        """Every mapping's counters, the kernel's added to the relay's; read by the metrics collector."""
        return [self._stats(stats) for stats in self._table.snapshot()]

    def check_address(self, port: int) -> str:
        """host:port that a connection from this host reaches the mapping through (for /endpoint)."""
        return self._reach.get(port, f"127.0.0.1:{port}")

    async def can_bind(self, port: int) -> bool:
        """False when another process holds the port (a mapping of ours counts as free: it is reused)."""
        if _mapping_id(port) in self._table:
            return True
        return await asyncio.to_thread(_bindable, self._host, port)

    async def _relay(self, port: int, target_host: str, target_port: int) -> None:
        mapping = _mapping_id(port)
        if mapping in self._table:
            await self._table.retarget(mapping, target_host, target_port)
        else:
            await self._table.open(mapping, self._host, port, target_host, target_port)

    def _rule(self, port: int, target_host: str, target_port: int) -> DnatRule:
        listen = None if self._host in WILDCARDS else self._host
        return DnatRule(_mapping_id(port), port, Address(target_host, target_port), listen_host=listen)

    async def _refusal(self, target_host: str) -> str | None:
        """Why this mapping goes to the relay, or None when it takes the kernel path."""
        if self._engine in ("splice", "asyncio"):
            return f"TEKTON_RUNNER_FORWARD_ENGINE={self._engine}"
        if self._kernel is None or not self._kernel.capable:
            return "nft may not change rules here (no CAP_NET_ADMIN, no nft, or no NAT in the kernel)"
        if (reason := refusal(self._host, target_host)) is not None:
            return reason
        if not self._kernel.forwarding and not await asyncio.to_thread(is_local, target_host):
            return f"target {target_host} is on another host and net.ipv4.ip_forward is 0"
        return None

    async def _check_address(self, target_host: str) -> str:
        if self._host not in WILDCARDS:
            return self._host
        # A client of 127.0.0.1 cannot be sent to another address by DNAT (route_localnet): use the
        # address this host reaches the target from, which is one of its own.
        return await asyncio.to_thread(source_address, target_host)

    def _stats(self, stats: MappingStats) -> MappingStats:
        if self._kernel is None or stats.mapping_id not in self._kernel:
            return stats
        counts = self._kernel.counts(stats.mapping_id)
        return dataclasses.replace(
            stats, path="dnat", bytes_to_target=stats.bytes_to_target + counts.bytes_to_target,
            bytes_to_client=stats.bytes_to_client + counts.bytes_to_client,
            connections_total=stats.connections_total + counts.connections,
            connections_active=None, connect_failures=None,
        )  # fmt: skip


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
async def forward_plane(
    listen_host: str, *, registry: CollectorRegistry, engine: ForwardEngine = "auto", nft_table: str = TABLE,
    nft: str = "nft",
) -> AsyncIterator[ForwardPlane]:
    """The external ports for the service's lifetime; at the end every listener closes and the table goes.

    nft is probed once here, whatever the engine: a table left by an earlier process is reconciled (with
    `splice` or `asyncio`, emptied) by `restore`. With `dnat`, a host where nft cannot be used is an error.
    """
    async with ForwardTable(RelayOptions(engine=_RELAY_ENGINE[engine])) as table:
        kernel = KernelPath(NftDnat(table=nft_table, nft=nft))
        if await kernel.probe():
            log.info("external ports: nft table %s usable (ip_forward %s)", nft_table,
                     "on" if kernel.forwarding else "off")
        elif engine == "dnat":
            raise KernelPathError("TEKTON_RUNNER_FORWARD_ENGINE=dnat but nft may not change rules here "
                                  "(it needs CAP_NET_ADMIN and nft)")
        else:
            log.info("external ports: nft not usable here, every port goes through the %s relay", table.path)
        plane = ForwardPlane(table, listen_host, engine=engine, kernel=kernel)
        collector = register_metrics(plane.snapshot, registry=registry)
        try:
            yield plane
        finally:
            registry.unregister(collector)
            if kernel.capable:
                await kernel.close()


__all__ = ["ForwardPlane", "PortUnavailable", "forward_plane"]
