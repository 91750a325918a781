"""A run is `succeeded` only once its app's NodePort accepts a TCP connection from the runner's host, so the
external address answers the first request sent right after: the forward step waits (saying for what) while
the NodePort refuses, fails with `forward:AppNotReachable` when it never answers, and tries nothing with
TEKTON_RUNNER_REACH_TIMEOUT=0. The resync's restoration of a live app re-publishes without waiting. The
NodePort is a port on this host that is bound but not listening until the test makes it listen."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.databases import both_backends
from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec

pytestmark = both_backends

PLAIN = {"dependency": {"type": "none"}, "migration": {"enabled": False}}


@pytest.fixture
def node_port(harness: Harness) -> Iterator[socket.socket]:
    """The port the fake API gives the app's Service as its nodePort: refused until the test listens on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        harness.controllers.next_node_port = int(sock.getsockname()[1])
        yield sock


def step(run: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(item for item in run["steps"] if item["name"] == name))


async def forward_step_waiting(harness: Harness, run_id: str) -> dict[str, Any]:
    """The run once its forward step waits for the NodePort; bounded only so that a regression fails."""
    run: dict[str, Any] = {}
    try:
        async with asyncio.timeout(60):
            while True:
                run = await harness.run(run_id)
                if step(run, "forward")["reason"] == "WaitingForNodePort":
                    return run
                await asyncio.sleep(0)  # yields to the chain task
    except TimeoutError:
        raise AssertionError(f"the forward step of run {run_id} never waited: {run}") from None


async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"hello from the app\n")
    await writer.drain()
    writer.close()


async def ask(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_the_run_succeeds_once_the_nodeport_answers_and_the_external_port_answers_at_once(
        harness: Harness, node_port: socket.socket) -> None:
    port = node_port.getsockname()[1]
    await harness.stop()
    await harness.start(reach_timeout=60.0, poll_interval=0.01)
    run_id = (await harness.post_run(spec(**PLAIN)))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")

    waiting = await forward_step_waiting(harness, run_id)
    assert waiting["state"] == "deploying", waiting
    assert step(waiting, "forward")["message"] == (
        f"waiting for 127.0.0.1:{port} to accept connections (last try: Connection refused)")
    assert step(waiting, "app")["state"] == "succeeded"

    server = await asyncio.start_server(greet, sock=node_port)  # kube-proxy has programmed the NodePort
    try:
        await asyncio.wait_for(harness.orchestrator.scheduler.join(f"chain:{run_id}"), timeout=60)
        run = await harness.run(run_id)
        assert run["state"] == "succeeded", run
        assert step(run, "forward")["message"].endswith(f"-> 127.0.0.1:{port}, which accepts connections")
        # one request, right after `succeeded`, through the external port
        assert await ask(run["endpoint"]["external_port"]) == b"hello from the app\n"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_nodeport_that_never_answers_fails_the_run_naming_the_address_and_the_error(
        harness: Harness, node_port: socket.socket) -> None:
    port = node_port.getsockname()[1]
    await harness.stop()
    await harness.start(reach_timeout=0.3, poll_interval=0.05)

    run = await harness.run_after_build(spec(**PLAIN))

    assert run["state"] == "failed" and run["reason"] == "forward:AppNotReachable", run
    assert f"its NodePort 127.0.0.1:{port} did not accept a TCP connection from the runner's host" in run["message"]
    assert "last error: Connection refused" in run["message"], run["message"]
    metrics = await (await harness.http.get("/metrics")).text()
    assert 'tekton_runner_stage_failures_total{reason="AppNotReachable",stage="forward"} 1.0' in metrics


async def test_with_the_setting_0_nothing_is_tried_and_the_run_succeeds(
        harness: Harness, node_port: socket.socket) -> None:
    assert harness.settings.reach_timeout == 0.0  # the harness's NodePorts have nothing behind them

    run = await harness.run_to_success(spec(**PLAIN))

    assert step(run, "forward")["message"].endswith("(not tried: TEKTON_RUNNER_REACH_TIMEOUT is 0)")
    with pytest.raises(ConnectionRefusedError):  # the NodePort still refuses: the run did not wait for it
        await asyncio.open_connection("127.0.0.1", node_port.getsockname()[1])


async def test_restoring_a_live_app_publishes_its_port_again_without_waiting_for_the_nodeport(
        harness: Harness, node_port: socket.socket) -> None:
    clock = FakeClock()
    harness.clock = clock
    await harness.stop()
    await harness.start(reach_timeout=30.0)
    server = await asyncio.start_server(greet, sock=node_port)
    try:
        await harness.run_to_success(spec(**PLAIN))
    finally:
        server.close()
        await server.wait_closed()
    # a minute later the app's Deployment is deleted by hand; its NodePort has nothing behind it until new
    # pods are ready, and the forward step started longer ago than the bound
    clock.advance(60.0)
    harness.fake.store.delete(harness.fake.registry.resolve("deployments"), "ws-demo", "shop")

    await harness.orchestrator.resync()

    assert harness.fake.get_object("deployments", "shop", "ws-demo") is not None
    assert harness.registry.get_sample_value("tekton_runner_restores_total") == 1
