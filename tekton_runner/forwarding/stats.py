"""Traffic counters of the relay and the immutable snapshots the table hands to callers and metrics."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, NewType

MappingId = NewType("MappingId", str)
# What carries a mapping's connections: kernel NAT rules, the splice relay, or the asyncio transports relay.
PathName = Literal["dnat", "splice", "asyncio"]


class MappingState(enum.StrEnum):
    """Lifecycle of one mapping inside a ForwardTable."""

    LISTENING = "listening"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Address:
    """A host and a TCP port; printed as host:port, with brackets around IPv6 literals."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class MappingStats:
    """Point-in-time view of one mapping: where it listens and relays to, and what it has carried."""

    mapping_id: MappingId
    state: MappingState
    listen: Address
    target: Address
    bytes_to_target: int
    bytes_to_client: int
    connections_total: int
    connections_active: int | None  # None on the kernel path: conntrack is not read
    connect_failures: int | None  # None on the kernel path: the client sees the target's answer itself
    last_error: str | None
    path: PathName = "splice"


class Traffic:
    """Byte counts of one relayed connection; the engines add to them on the hot path."""

    __slots__ = ("to_client", "to_target")

    def __init__(self) -> None:
        self.to_target = 0
        self.to_client = 0

    @property
    def total(self) -> int:
        return self.to_target + self.to_client


class MappingCounters:
    """Totals of one mapping: finished connections folded in, live ones summed when a snapshot is taken."""

    def __init__(self) -> None:
        self.live: set[Traffic] = set()
        self.closed_to_target = 0
        self.closed_to_client = 0
        self.connections_total = 0
        self.connect_failures = 0
        self.last_error: str | None = None

    def opened(self) -> Traffic:
        traffic = Traffic()
        self.live.add(traffic)
        self.connections_total += 1
        return traffic

    def closed(self, traffic: Traffic) -> None:
        self.live.discard(traffic)
        self.closed_to_target += traffic.to_target
        self.closed_to_client += traffic.to_client

    def failed(self, error: str, *, connect: bool = False) -> None:
        self.last_error = error
        if connect:
            self.connect_failures += 1

    def snapshot(
        self, mapping_id: MappingId, state: MappingState, listen: Address, target: Address, path: PathName
    ) -> MappingStats:
        return MappingStats(
            mapping_id=mapping_id,
            state=state,
            listen=listen,
            target=target,
            bytes_to_target=self.closed_to_target + sum(t.to_target for t in self.live),
            bytes_to_client=self.closed_to_client + sum(t.to_client for t in self.live),
            connections_total=self.connections_total,
            connections_active=len(self.live),
            connect_failures=self.connect_failures,
            last_error=self.last_error,
            path=path,
        )
