"""Optional kernel data path: mappings as nftables DNAT rules, for a runner with CAP_NET_ADMIN and nft."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ForwardError
from .stats import Address

TABLE = "tekton_runner"
_UNSAFE = re.compile(r"[^A-Za-z0-9._/:-]")


class KernelPathError(ForwardError):
    """nft is missing, not permitted, or refused the ruleset; the user-space relay still works."""


@dataclass(frozen=True, slots=True)
class DnatRule:
    """Connections to any local address on `listen_port` go to `target` (an IPv4 literal)."""

    mapping_id: str
    listen_port: int
    target: Address


def _comment(mapping_id: str) -> str:
    # Rule comments carry the mapping id for counters; nft strings cannot hold every character.
    return _UNSAFE.sub("_", mapping_id)[:100]


def render(rules: Sequence[DnatRule], table: str = TABLE) -> str:
    """The whole table as an nft script that replaces the previous one in a single transaction."""
    seen: set[int] = set()
    nat: list[str] = []
    snat: list[str] = []
    for rule in rules:
        ip = ipaddress.ip_address(rule.target.host)  # raises ValueError for names
        if ip.version != 4:
            raise ValueError(f"{rule.mapping_id}: the kernel path handles IPv4 targets only")
        for port in (rule.listen_port, rule.target.port):
            if not 0 < port < 65536:
                raise ValueError(f"{rule.mapping_id}: port {port} out of range")
        if rule.listen_port in seen:
            raise ValueError(f"{rule.mapping_id}: listen port {rule.listen_port} is mapped twice")
        seen.add(rule.listen_port)
        tag = f'comment "{_comment(rule.mapping_id)}"'
        # `fib daddr type local`: only traffic addressed to this host, never traffic passing through it.
        nat.append(f"fib daddr type local tcp dport {rule.listen_port} counter dnat to {ip}:{rule.target.port} {tag}")
        # Replies from a remote target must come back through us to be un-NATed.
        snat.append(
            f"ip daddr {ip} tcp dport {rule.target.port} ct status dnat fib daddr type != local masquerade {tag}"
        )
    body = "\n".join(f"\t\t{line}" for line in nat)
    return "\n".join(
        [
            f"table ip {table}",  # exists after this line, so the delete below never fails
            f"delete table ip {table}",
            f"table ip {table} {{",
            "\tchain prerouting {",
            "\t\ttype nat hook prerouting priority dstnat; policy accept;",
            body,
            "\t}",
            "\tchain output {",
            "\t\ttype nat hook output priority -100; policy accept;",
            body,
            "\t}",
            "\tchain postrouting {",
            "\t\ttype nat hook postrouting priority srcnat; policy accept;",
            *(f"\t\t{line}" for line in snat),
            "\t}",
            "}",
            "",
        ]
    )


class NftDnat:
    """Reconciles one nftables table owned by the runner; other tables are never touched."""

    def __init__(self, *, table: str = TABLE, nft: str = "nft") -> None:
        self.table = table
        self._nft = nft

    async def available(self) -> bool:
        """Whether nft exists and may change rules here (it needs CAP_NET_ADMIN)."""
        if shutil.which(self._nft) is None:
            return False
        try:
            await self._run("-c", "-f", "-", script=render([], self.table))  # -c: check only
        except KernelPathError:
            return False
        return True

    async def apply(self, rules: Sequence[DnatRule]) -> None:
        """Make the table hold exactly these rules, atomically (a failed load leaves the old ones)."""
        await self._run("-f", "-", script=render(rules, self.table))

    async def clear(self) -> None:
        """Remove the runner's table and with it every rule it programmed."""
        await self._run("-f", "-", script=f"table ip {self.table}\ndelete table ip {self.table}\n")

    async def connections(self) -> dict[str, int]:
        """Connections DNATed per mapping since the rules were loaded (NAT sees a connection's first packet)."""
        listing: dict[str, Any] = json.loads(await self._run("-j", "list", "table", "ip", self.table))
        counts: dict[str, int] = {}
        for item in listing.get("nftables", []):
            rule = item.get("rule")
            if not rule or rule.get("chain") not in ("prerouting", "output"):
                continue
            for expr in rule.get("expr", []):
                if "counter" in expr:
                    key = rule.get("comment", "")
                    counts[key] = counts.get(key, 0) + int(expr["counter"]["packets"])
        return counts

    async def _run(self, *args: str, script: str | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            self._nft,
            *args,
            stdin=asyncio.subprocess.PIPE if script is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(script.encode() if script is not None else None)
        if proc.returncode != 0:
            raise KernelPathError(f"nft {' '.join(args)}: {err.decode(errors='replace').strip()}")
        return out.decode()
