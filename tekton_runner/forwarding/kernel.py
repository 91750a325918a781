"""Kernel data path: mappings as nftables DNAT rules with per-rule counters; driven by `dnat.KernelPath`."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ForwardError
from .stats import Address

TABLE = "tekton_runner"
_UNSAFE = re.compile(r"[^A-Za-z0-9._/:-]")
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
# Counting chains by the direction of the connection's packets, named after the relay's byte counters.
TO_TARGET, TO_CLIENT = "to_target", "to_client"


class KernelPathError(ForwardError):
    """nft is missing, not permitted, or refused the ruleset; the user-space relay still works."""


@dataclass(frozen=True, slots=True)
class DnatRule:
    """Connections to `listen_port` go to `target` (an IPv4 literal).

    `listen_host` limits the rule to one local IPv4 address; None takes every local address.
    """

    mapping_id: str
    listen_port: int
    target: Address
    listen_host: str | None = None


@dataclass(frozen=True, slots=True)
class KernelCounts:
    """What the rules of one mapping counted: connections (NAT sees their first packet) and IP bytes."""

    connections: int = 0
    bytes_to_target: int = 0
    bytes_to_client: int = 0

    def __add__(self, other: KernelCounts) -> KernelCounts:
        return KernelCounts(
            self.connections + other.connections,
            self.bytes_to_target + other.bytes_to_target,
            self.bytes_to_client + other.bytes_to_client,
        )


def comment(mapping_id: str) -> str:
    """The rule comment that names a mapping: nft strings cannot hold every character."""
    return _UNSAFE.sub("_", mapping_id)[:100]


def _checked(rule: DnatRule) -> tuple[str, str | None]:
    ip = ipaddress.ip_address(rule.target.host)  # raises ValueError for names
    if ip.version != 4:
        raise ValueError(f"{rule.mapping_id}: the kernel path handles IPv4 targets only")
    for port in (rule.listen_port, rule.target.port):
        if not 0 < port < 65536:
            raise ValueError(f"{rule.mapping_id}: port {port} out of range")
    listen = ipaddress.ip_address(rule.listen_host) if rule.listen_host else None
    if listen is not None and listen.version != 4:
        raise ValueError(f"{rule.mapping_id}: the kernel path listens on IPv4 addresses only")
    return str(ip), (str(listen) if listen is not None else None)


def render(rules: Sequence[DnatRule], table: str = TABLE) -> str:
    """The whole table as an nft script that replaces the previous one in a single transaction."""
    if not _TABLE_NAME.match(table):
        raise ValueError(f"{table!r} is not a usable nftables table name")
    seen: set[int] = set()
    nat: list[str] = []
    snat: list[str] = []
    count: list[str] = []
    for rule in rules:
        ip, listen = _checked(rule)
        if rule.listen_port in seen:
            raise ValueError(f"{rule.mapping_id}: listen port {rule.listen_port} is mapped twice")
        seen.add(rule.listen_port)
        tag = f'comment "{comment(rule.mapping_id)}"'
        # `fib daddr type local`: only traffic addressed to this host, never traffic passing through it.
        # Not 127.0.0.0/8: a client of 127.0.0.1 cannot be routed to another host without route_localnet;
        # the mapping's listener relays those connections instead.
        local = f"ip daddr {listen}" if listen else "fib daddr type local ip daddr != 127.0.0.0/8"
        nat.append(f"{local} tcp dport {rule.listen_port} counter dnat to {ip}:{rule.target.port} {tag}")
        # Replies from a remote target must come back through us to be un-NATed.
        snat.append(
            f"ip daddr {ip} tcp dport {rule.target.port} ct status dnat fib daddr type != local masquerade {tag}"
        )
        # The original tuple keeps the listen port for the connection's life, also after a retarget.
        count.append(f"ct status dnat ct original protocol tcp ct original proto-dst {rule.listen_port} counter {tag}")
    return "\n".join(
        [
            f"table ip {table}",  # exists after this line, so the delete below never fails
            f"delete table ip {table}",
            f"table ip {table} {{",
            *_chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;", nat),
            *_chain("output", "type nat hook output priority -100; policy accept;", nat),
            *_chain("postrouting", "type nat hook postrouting priority srcnat; policy accept;", snat),
            # Every packet is counted once: when it is sent from this host (output) or when it arrives from
            # another one (prerouting, not from lo: those were counted when sent).
            *_chain("count_in", "type filter hook prerouting priority filter; policy accept;", [
                'iif "lo" return', f"ct direction original jump {TO_TARGET}", f"ct direction reply jump {TO_CLIENT}",
            ]),
            *_chain("count_out", "type filter hook output priority filter; policy accept;", [
                f"ct direction original jump {TO_TARGET}", f"ct direction reply jump {TO_CLIENT}",
            ]),
            *_chain(TO_TARGET, None, count),
            *_chain(TO_CLIENT, None, count),
            "}",
            "",
        ]
    )  # fmt: skip


def _chain(name: str, hook: str | None, lines: Sequence[str]) -> list[str]:
    return [f"\tchain {name} {{", *([f"\t\t{hook}"] if hook else []), *(f"\t\t{line}" for line in lines), "\t}"]


def parse_counts(listing: dict[str, Any]) -> dict[str, KernelCounts]:
    """Counters of `nft -j list table` by rule comment: NAT chains count connections, the rest bytes."""
    counts: dict[str, KernelCounts] = {}
    for item in listing.get("nftables", []):
        rule = item.get("rule")
        if not rule or "comment" not in rule:
            continue
        chain = rule.get("chain")
        for expr in rule.get("expr", []):
            if "counter" not in expr:
                continue
            packets, octets = int(expr["counter"]["packets"]), int(expr["counter"]["bytes"])
            if chain in ("prerouting", "output"):
                found = KernelCounts(connections=packets)
            elif chain == TO_TARGET:
                found = KernelCounts(bytes_to_target=octets)
            elif chain == TO_CLIENT:
                found = KernelCounts(bytes_to_client=octets)
            else:
                continue
            counts[rule["comment"]] = counts.get(rule["comment"], KernelCounts()) + found
    return counts


class NftDnat:
    """Reconciles one nftables table owned by the runner; other tables are never touched."""

    def __init__(self, *, table: str = TABLE, nft: str = "nft") -> None:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"{table!r} is not a usable nftables table name")
        self.table = table
        self._nft = nft

    async def available(self) -> bool:
        """Whether nft exists and may change rules here (it needs CAP_NET_ADMIN)."""
        try:
            await self._run("-c", "-f", "-", script=render([], self.table))  # -c: check only
        except (KernelPathError, OSError):
            return False
        return True

    async def exists(self) -> bool:
        """Whether the table is loaded (left by an earlier process, for instance)."""
        try:
            await self._run("list", "table", "ip", self.table)
        except (KernelPathError, OSError):
            return False
        return True

    async def apply(self, rules: Sequence[DnatRule]) -> None:
        """Make the table hold exactly these rules, atomically (a failed load leaves the old ones)."""
        await self._run("-f", "-", script=render(rules, self.table))

    async def clear(self) -> None:
        """Remove the runner's table and with it every rule it programmed."""
        await self._run("-f", "-", script=f"table ip {self.table}\ndelete table ip {self.table}\n")

    async def counts(self) -> dict[str, KernelCounts]:
        """Counters per mapping (rule comment) since the rules were loaded."""
        return parse_counts(json.loads(await self._run("-j", "list", "table", "ip", self.table)))

    async def connections(self) -> dict[str, int]:
        """Connections DNATed per mapping since the rules were loaded (NAT sees a connection's first packet)."""
        return {key: found.connections for key, found in (await self.counts()).items()}

    async def _run(self, *args: str, script: str | None = None) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                self._nft,
                *args,
                stdin=asyncio.subprocess.PIPE if script is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise KernelPathError(f"nft: {exc}") from exc
        out, err = await proc.communicate(script.encode() if script is not None else None)
        if proc.returncode != 0:
            raise KernelPathError(f"nft {' '.join(args)}: {err.decode(errors='replace').strip()}")
        return out.decode()
