"""A network namespace of its own for one runner replica, and a firewall rule in it that cuts the replica off.

The namespace reaches the host through a veth pair. The local plane's services listen on the host's
loopback only (API server, PostgreSQL, EventListener, registry), so inside the namespace TCP to 127.0.0.1
is sent to the host's end of the pair, and the host passes what arrives there on to its own 127.0.0.1, as
from 127.0.0.1 (the tests' PostgreSQL trusts loopback clients only): the replica runs with the same settings
as the others. `cut(port)` adds an nft table in the namespace that
drops what the replica sends to that port; `mend()` removes it.

Every name carries a random suffix, and everything added to the host (the namespace, the pair, the host's
nft table, the addresses) is removed by name when the context ends; the route_localnet sysctl is set on the
host's end of the pair only, and goes with it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tests.integration.netns import sh


@dataclass(frozen=True)
class ReplicaNetns:
    suffix: str
    subnet: tuple[int, int]  # the pair's /30 is 100.<a>.<b>.0/30 (shared address space, not routed here)

    @property
    def name(self) -> str:
        return f"tekton-runner-e2e-{self.suffix}"

    @property
    def host_link(self) -> str:
        return f"trh{self.suffix}"

    @property
    def inner_link(self) -> str:
        return f"trn{self.suffix}"

    @property
    def table(self) -> str:
        return f"tekton_runner_e2e_{self.suffix}"

    @property
    def host_address(self) -> str:
        return f"100.{self.subnet[0]}.{self.subnet[1]}.1"

    @property
    def address(self) -> str:
        """The replica's address, reached from the host through the pair."""
        return f"100.{self.subnet[0]}.{self.subnet[1]}.2"

    @property
    def wrap(self) -> tuple[str, ...]:
        """The command prefix that runs a program inside the namespace."""
        return ("ip", "netns", "exec", self.name)

    async def cut(self, port: int) -> None:
        """Drops every packet the namespace sends to the host's `port` (after the NAT above: at the host's
        end of the pair), so connections already open stall as new ones do."""
        await sh(*self.wrap, "nft", "-f", "-", stdin=(
            f"table ip {self.table}_cut {{\n"
            f"  chain output {{ type filter hook output priority 0; ip daddr {self.host_address}"
            f" tcp dport {port} drop; }}\n}}\n"))

    async def mend(self) -> None:
        await sh(*self.wrap, "nft", "delete", "table", "ip", f"{self.table}_cut")

    async def _create(self) -> None:
        await sh("ip", "netns", "add", self.name)
        await sh("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", self.inner_link,
                 "netns", self.name)
        await sh("ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_link)
        await sh("ip", "link", "set", self.host_link, "up")
        # Lets the host deliver to its 127.0.0.1 what came in on this link (only this link).
        await sh("sysctl", "-qw", f"net.ipv4.conf.{self.host_link}.route_localnet=1")
        await sh("nft", "-f", "-", stdin=(
            f"table ip {self.table} {{\n"
            f"  chain prerouting {{ type nat hook prerouting priority -100;"
            f" iifname \"{self.host_link}\" ip daddr {self.host_address} dnat to 127.0.0.1; }}\n"
            # ... and from 127.0.0.1: the tests' PostgreSQL trusts loopback clients only.
            f"  chain input {{ type nat hook input priority 100; iifname \"{self.host_link}\" snat to 127.0.0.1; }}\n"
            "}\n"))
        inside = self.wrap
        await sh(*inside, "ip", "link", "set", "lo", "up")
        await sh(*inside, "ip", "addr", "add", f"{self.address}/30", "dev", self.inner_link)
        await sh(*inside, "ip", "link", "set", self.inner_link, "up")
        await sh(*inside, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
        await sh(*inside, "nft", "-f", "-", stdin=(
            f"table ip {self.table} {{\n"
            f"  chain output {{ type nat hook output priority -100;"
            f" ip daddr 127.0.0.1 dnat to {self.host_address}; }}\n"
            f"  chain postrouting {{ type nat hook postrouting priority 100;"
            f" oifname \"{self.inner_link}\" masquerade; }}\n}}\n"))

    async def _remove(self) -> None:
        """Each by its name, whatever part of `_create` happened; the namespace takes its own tables along."""
        for argv in (("nft", "delete", "table", "ip", self.table), ("ip", "link", "delete", self.host_link),
                     ("ip", "netns", "delete", self.name)):
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await process.wait()


@asynccontextmanager
async def replica_netns() -> AsyncIterator[ReplicaNetns]:
    """A namespace wired to the host as above; whatever runs inside must have ended when this exits."""
    suffix = secrets.token_hex(4)
    namespace = ReplicaNetns(suffix, (64 + secrets.randbelow(64), secrets.randbelow(256)))
    try:
        await namespace._create()
        yield namespace
    finally:
        await namespace._remove()


async def left_behind(namespace: ReplicaNetns) -> list[str]:
    """What of the namespace is still on the host (for the test to assert nothing is)."""
    found = []
    if namespace.name in await sh("ip", "netns", "list"):
        found.append(f"netns {namespace.name}")
    if namespace.host_link in await sh("ip", "-brief", "link"):
        found.append(f"link {namespace.host_link}")
    if namespace.table in await sh("nft", "list", "tables"):
        found.append(f"nft table {namespace.table}")
    return found
