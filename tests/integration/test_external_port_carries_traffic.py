"""The external port relays to the app's NodePort, follows a redeploy, and is refused when already held."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.databases import both_backends
from tests.integration.harness import Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


class NodePort:
    """A TCP server standing in for the node's NodePort: answers each line with its name and the line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        writer.write(f"{self.name}:{line.decode()}".encode())
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


async def ask(port: int, text: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(text.encode() + b"\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer.decode()


async def test_external_port_reaches_the_app_and_follows_a_redeploy(
    harness: Harness, node_ports: tuple[NodePort, NodePort]
) -> None:
    first, second = node_ports
    harness.controllers.next_node_port = await first.start()
    run = await harness.run_to_success(spec(dependency={"type": "none"}, migration={"enabled": False}))
    external = run["endpoint"]["external_port"]
    assert await ask(external, "hello") == "first:hello\n"

    # The Service was recreated meanwhile (so it gets another nodePort): the redeploy moves the same
    # external port to the new target.
    harness.fake.store.delete(harness.fake.registry.resolve("services"), "ws-demo", "shop")
    harness.controllers.next_node_port = await second.start()
    again = await harness.run_to_success(spec(dependency={"type": "none"}, migration={"enabled": False}))
    assert again["endpoint"]["external_port"] == external
    assert await ask(external, "again") == "second:again\n"

    mapping = (await (await harness.http.get("/external-map")).json())["mappings"][0]
    assert mapping["state"] == "listening" and mapping["connections_total"] == 2
    endpoint = await (await harness.http.get("/endpoint", params={"workspace": "demo", "app": "shop"})).json()
    assert endpoint["external"]["reachable"] is True and endpoint["host_local"]["reachable"] is True
    metrics = await (await harness.http.get("/metrics")).text()
    assert "tekton_runner_forward_connections_total" in metrics


async def test_port_held_by_another_process_is_409(harness: Harness) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        response = await harness.http.post("/run", json=spec(expose={"external_port": taken}))
        assert response.status == 409
        assert "another process" in (await response.json())["message"]
    assert harness.listener.received == []


async def test_mappings_are_reopened_after_a_restart(harness: Harness, node_ports: tuple[NodePort, NodePort]) -> None:
    first, _ = node_ports
    harness.controllers.next_node_port = await first.start()
    run = await harness.run_to_success(spec(dependency={"type": "none"}, migration={"enabled": False}))
    await harness.stop()
    external = run["endpoint"]["external_port"]
    await harness.start()
    assert await ask(external, "back") == "first:back\n"


async def test_deleting_the_run_closes_its_port(harness: Harness, node_ports: tuple[NodePort, NodePort]) -> None:
    first, _ = node_ports
    harness.controllers.next_node_port = await first.start()
    run = await harness.run_to_success(spec(dependency={"type": "none"}, migration={"enabled": False}))
    await harness.http.delete(f"/runs/{run['run_id']}")
    try:
        await ask(run["endpoint"]["external_port"], "gone?")
    except ConnectionRefusedError:
        return
    raise AssertionError("the external port still accepts connections")


async def test_range_port_held_by_another_process_is_skipped(harness: Harness) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        await harness.stop()
        await harness.start(external_port_range=(taken, taken + 5))
        run = await harness.run_to_success(spec(dependency={"type": "none"}, migration={"enabled": False}))
        assert taken < run["endpoint"]["external_port"] <= taken + 5
