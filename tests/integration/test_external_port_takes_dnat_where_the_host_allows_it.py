"""External ports take the nftables DNAT path when the runner may use nft and the target allows it, fall back
to the splice relay when it may not, report the path in /external-map, and leave no rule behind.

Each test runs in a private network namespace (tests/integration/netns.py), so the host's rules are never
touched; the app's NodePort is a server on a non-loopback address of that namespace.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tekton_runner.forwarding import Address, DnatRule
from tekton_runner.forwarding.kernel import NftDnat
from tests.integration.harness import Harness, spec
from tests.integration.netns import NODE, from_another_host, needs_netns, private_netns, sh, table_exists

pytestmark = needs_netns
__all__ = ["private_netns"]
TABLE = "tr_it"
APP = {"dependency": {"type": "none"}, "migration": {"enabled": False}}


class NodePort:
    """Stands in for the app's NodePort: answers each connection with its name and the client's port it saw."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: asyncio.Server | None = None

    async def start(self, host: str) -> int:
        self.server = await asyncio.start_server(self._serve, host, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(f"{self.name} {writer.get_extra_info('peername')[1]}\n".encode())
        await writer.drain()
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest_asyncio.fixture
async def node_ports() -> AsyncIterator[tuple[NodePort, NodePort]]:
    first, second = NodePort("first"), NodePort("second")
    yield first, second
    await first.close()
    await second.close()


async def ask(host: str, port: int) -> tuple[str, bool]:
    """The NodePort's answer, and whether it saw this very connection (DNAT) rather than a relay's own."""
    reader, writer = await asyncio.open_connection(host, port)
    mine = writer.get_extra_info("sockname")[1]
    writer.write(b"hello\n")
    name, seen = (await reader.read()).decode().split()
    writer.close()
    await writer.wait_closed()
    return name, int(seen) == mine


async def start(harness: Harness, **changes: Any) -> None:
    await harness.stop()
    await harness.start(forward_listen_host="0.0.0.0", forward_nft_table=TABLE, **changes)


async def external_map(harness: Harness) -> dict[str, Any]:
    mappings = (await (await harness.http.get("/external-map")).json())["mappings"]
    assert len(mappings) == 1, mappings
    return dict(mappings[0])


async def rules(table: str = TABLE) -> list[str]:
    listing = json.loads(await sh("nft", "-j", "list", "chain", "ip", table, "prerouting"))
    return [item["rule"]["comment"] for item in listing["nftables"] if "rule" in item]


async def test_port_is_carried_by_dnat_counted_moved_and_removed(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, second = node_ports
    await start(harness, node_address=NODE)
    harness.controllers.next_node_port = await first.start(NODE)
    run = await harness.run_to_success(spec(**APP))
    port = run["endpoint"]["external_port"]

    assert await ask(NODE, port) == ("first", True)  # the app saw the client's own connection: no relay
    mapping = await external_map(harness)
    assert mapping["path"] == "dnat" and mapping["state"] == "listening"
    assert mapping["connections_total"] == 1 and mapping["connections_active"] is None
    # Clients of 127.0.0.1 are left to the mapping's listener (the kernel could not route them elsewhere).
    assert await ask("127.0.0.1", port) == ("first", False)
    assert (await external_map(harness))["connections_total"] == 2
    # A client on another host arrives through prerouting and reaches the app the same way.
    assert await from_another_host(port) == ("first", True)
    assert (await external_map(harness))["connections_total"] == 3
    assert mapping["bytes_to_target"] > len("hello\n") and mapping["bytes_to_client"] > len("first 1\n")
    assert await rules() == [f"port-{port}"]
    metrics = await (await harness.http.get("/metrics")).text()
    assert f'tekton_runner_forward_path{{mapping="port-{port}",path="dnat"}} 1.0' in metrics
    assert f'tekton_runner_forward_connections_total{{mapping="port-{port}"}} 3.0' in metrics
    endpoint = await (await harness.http.get("/endpoint", params={"workspace": "demo", "app": "shop"})).json()
    assert endpoint["external"]["reachable"] is True

    # A redeploy with a new nodePort moves the rule; the counters carry over the reload of the table.
    harness.fake.store.delete(harness.fake.registry.resolve("services"), "ws-demo", "shop")
    harness.controllers.next_node_port = await second.start(NODE)
    again = await harness.run_to_success(spec(**APP))
    assert again["endpoint"]["external_port"] == port
    assert await ask(NODE, port) == ("second", True)
    assert (await external_map(harness))["connections_total"] >= 4  # and the /endpoint probe's connection

    response = await harness.http.delete(f"/runs/{again['run_id']}")
    assert response.status == 200, await response.text()
    await harness.settle()
    assert (await (await harness.http.get("/external-map")).json())["mappings"] == []
    assert not await table_exists(TABLE)  # the last rule gone, the table with it
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(NODE, port)


async def test_restart_reconciles_the_table_with_the_stored_ports(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, _ = node_ports
    await start(harness, node_address=NODE)
    harness.controllers.next_node_port = await first.start(NODE)
    port = (await harness.run_to_success(spec(**APP)))["endpoint"]["external_port"]

    await harness.stop()
    assert not await table_exists(TABLE)  # a stopped runner leaves no rule behind
    # As if a killed runner had left rules, one of them for a port the store no longer has.
    stale = NftDnat(table=TABLE)
    await stale.apply([DnatRule("port-18999", 18999, Address(NODE, 1)), DnatRule(f"port-{port}", port,
                                                                                   Address(NODE, 2))])
    await start(harness, node_address=NODE)
    assert await rules() == [f"port-{port}"]
    assert (await external_map(harness))["path"] == "dnat"
    assert await ask(NODE, port) == ("first", True)


async def test_loopback_target_is_relayed_by_splice(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, _ = node_ports
    await start(harness, node_address="127.0.0.1")
    harness.controllers.next_node_port = await first.start("127.0.0.1")
    port = (await harness.run_to_success(spec(**APP)))["endpoint"]["external_port"]

    assert await ask("127.0.0.1", port) == ("first", False)  # the app saw the relay's connection
    mapping = await external_map(harness)
    assert mapping["path"] == "splice" and mapping["connections_total"] == 1 and mapping["connections_active"] == 0
    assert not await table_exists(TABLE)


def fake_nft(tmp_path: Path, *, check_passes: bool) -> str:
    """A directory with an `nft` that refuses everything (no CAP_NET_ADMIN), or everything but `nft -c`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "nft"
    allow = 'case " $* " in *" -c "*) exit 0;; esac\n' if check_passes else ""
    script.write_text(f"#!/bin/sh\n{allow}echo 'Error: Could not process rule: Operation not permitted' >&2\nexit 1\n")
    script.chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize("check_passes", [False, True], ids=["nft-not-permitted", "rule-refused"])
async def test_refused_nft_falls_back_to_splice(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, check_passes: bool,
) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", f"{fake_nft(tmp_path, check_passes=check_passes)}{os.pathsep}{os.environ['PATH']}")
    first, _ = node_ports
    await start(harness, node_address=NODE)
    harness.controllers.next_node_port = await first.start(NODE)
    port = (await harness.run_to_success(spec(**APP)))["endpoint"]["external_port"]

    assert await ask(NODE, port) == ("first", False)
    assert (await external_map(harness))["path"] == "splice"
    monkeypatch.undo()
    assert not await table_exists(TABLE)


async def test_splice_engine_setting_keeps_dnat_off(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, _ = node_ports
    await start(harness, node_address=NODE, forward_engine="splice")
    harness.controllers.next_node_port = await first.start(NODE)
    port = (await harness.run_to_success(spec(**APP)))["endpoint"]["external_port"]
    assert await ask(NODE, port) == ("first", False)
    assert (await external_map(harness))["path"] == "splice"
    assert not await table_exists(TABLE)


async def test_dnat_engine_refuses_a_loopback_target_instead_of_relaying_it(
    private_netns: None, harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, _ = node_ports
    await start(harness, node_address="127.0.0.1", forward_engine="dnat")
    harness.controllers.next_node_port = await first.start("127.0.0.1")
    run_id = (await harness.post_run(spec(**APP)))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "forward:ForwardFailed", run
    assert "loopback" in run["message"]
    assert not await table_exists(TABLE)
