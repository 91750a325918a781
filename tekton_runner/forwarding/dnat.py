"""KernelPath: the DNAT rules the plane wants, kept in memory and loaded whole into the runner's nft table.

Called by `plane.ForwardPlane` only. Every change renders the full table and loads it as one transaction,
so the kernel holds exactly the wanted rules whatever an earlier process left; counters survive a reload
because they are read just before it and carried in memory.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from pathlib import Path

from .kernel import DnatRule, KernelCounts, KernelPathError, NftDnat, comment
from .stats import MappingId

log = logging.getLogger(__name__)
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


class KernelPath:
    """Owns one nft table: the wanted rules, whether nft may be used here, and the rules' counters."""

    def __init__(self, nft: NftDnat) -> None:
        self._nft = nft
        self._rules: dict[MappingId, DnatRule] = {}
        self._loaded: dict[MappingId, DnatRule] | None = None  # None: unknown, load on the next change
        self._carried: dict[MappingId, KernelCounts] = {}
        self._latest: dict[str, KernelCounts] = {}
        self._lock = asyncio.Lock()
        self.capable = False
        self.forwarding = False

    @property
    def table(self) -> str:
        return self._nft.table

    async def probe(self) -> bool:
        """Check once whether nft may change rules here (CAP_NET_ADMIN, nft present, NAT in the kernel)."""
        self.capable = await self._nft.available()
        self.forwarding = await asyncio.to_thread(_forwarding_on)
        return self.capable

    def __contains__(self, mapping_id: object) -> bool:
        return mapping_id in self._rules

    def counts(self, mapping_id: MappingId) -> KernelCounts:
        """The mapping's counters: what was carried over reloads plus the last reading."""
        latest = self._latest.get(comment(mapping_id), KernelCounts())
        return self._carried.get(mapping_id, KernelCounts()) + latest

    async def reconcile(self, rules: list[DnatRule]) -> None:
        """At start: make the table hold exactly `rules` (dropping whatever an earlier process left)."""
        async with self._lock:
            wanted = {MappingId(rule.mapping_id): rule for rule in rules}
            if not wanted and not await self._nft.exists():
                self._rules, self._loaded = {}, {}
                return
            self._rules, self._loaded = wanted, None
            try:
                await self._load()
            except KernelPathError:
                self._rules = {}  # none of them is on the kernel path; the table is retried when refreshed
                raise

    async def put(self, rule: DnatRule) -> None:
        """Add or move one mapping's rule; on KernelPathError the kernel and the wanted set are unchanged."""
        mid = MappingId(rule.mapping_id)
        async with self._lock:
            before = self._rules.get(mid)
            if before == rule and self._loaded is not None and self._loaded.get(mid) == rule:
                return
            self._rules[mid] = rule
            try:
                await self._load()
            except KernelPathError:
                if before is None:
                    self._rules.pop(mid, None)
                else:
                    self._rules[mid] = before
                raise

    async def remove(self, mapping_id: MappingId) -> None:
        """Drop one mapping's rule. A failed load is logged and retried with the next change or refresh."""
        async with self._lock:
            self._rules.pop(mapping_id, None)
            if self._loaded == self._rules:
                return
            try:
                await self._load()
            except KernelPathError as error:
                log.error("nft table %s: rule of %s not removed yet: %s", self.table, mapping_id, error)
            self._carried.pop(mapping_id, None)

    async def refresh(self) -> None:
        """Read the counters now (and load the table if an earlier load failed)."""
        async with self._lock:
            try:
                if self._loaded is None or self._loaded != self._rules:
                    await self._load()
                elif self._rules:
                    self._latest = await self._nft.counts()
            except KernelPathError as error:
                log.warning("nft table %s: %s", self.table, error)

    async def close(self) -> None:
        """Remove the table: a stopped runner leaves no rule behind (docs/forwarding.md)."""
        async with self._lock:
            self._rules.clear()
            if not await self._nft.exists():
                self._loaded = {}
                return
            try:
                await self._nft.clear()
            except KernelPathError as error:
                log.error("nft table %s not removed: %s", self.table, error)
                return
            self._loaded = {}

    async def _load(self) -> None:
        # Read the counters the reload is about to reset; packets of the instant between are not counted.
        before: dict[str, KernelCounts] = {}
        if self._loaded:
            try:
                before = await self._nft.counts()
            except KernelPathError:
                before = {}
        wanted = dict(self._rules)
        if wanted:
            await self._nft.apply(list(wanted.values()))
        else:
            await self._nft.clear()
        for mid in wanted:
            if (found := before.get(comment(mid))) is not None:
                self._carried[mid] = self._carried.get(mid, KernelCounts()) + found
        self._latest = {}
        self._loaded = wanted


def _forwarding_on() -> bool:
    try:
        return IP_FORWARD.read_text().strip() == "1"
    except OSError:
        return False


def refusal(listen_host: str, target_host: str) -> str | None:
    """Why a mapping cannot be a DNAT rule whatever the host allows, or None when it can (docs/forwarding.md)."""
    try:
        target = ipaddress.ip_address(target_host)
    except ValueError:
        return f"target {target_host} is a name (the relay resolves it per connection)"
    if target.version != 4:
        return f"target {target_host} is not IPv4"
    if target.is_loopback or target.is_unspecified or target.is_multicast:
        # Traffic from other hosts cannot be sent to 127.0.0.0/8 unless route_localnet is set, and the
        # runner changes no sysctl.
        return f"target {target_host} is a loopback address"
    if listen_host not in WILDCARDS:
        try:
            listen = ipaddress.ip_address(listen_host)
        except ValueError:
            return f"listen host {listen_host} is a name"
        if listen.version != 4 or listen.is_loopback:
            # A client of 127.0.0.1 cannot be routed to another address (again route_localnet).
            return f"listen host {listen_host} is not a non-loopback IPv4 address"
    return None


WILDCARDS = frozenset({"", "0.0.0.0"})


def is_local(address: str) -> bool:
    """Whether the address belongs to this host (binding to it works); blocking, run it in a thread."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


def source_address(target: str) -> str:
    """The local address this host sends from toward `target` (a UDP connect sends nothing); blocking."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((target, 9))
        except OSError:
            return "127.0.0.1"
        return str(sock.getsockname()[0])
