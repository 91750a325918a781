"""TEKTON_RUNNER_NOTIFY_URL: each run and step transition as a CloudEvent, in order, retried, kept across restarts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.databases import both_backends
from tests.integration.harness import Harness, spec
from tests.integration.receivers import Received, Receiver, receiver

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


@pytest_asyncio.fixture
async def notified(harness: Harness) -> AsyncIterator[Receiver]:
    async with receiver() as found:
        await harness.stop()
        await harness.start(notify_url=found.url + "events", notify_retry_delay=0.001,
                            notify_retry_max_delay=0.01, notify_attempts=1_000_000)
        yield found


def ended(run_id: str) -> Any:
    def done(received: list[Received]) -> bool:
        return any(item.headers["ce-subject"] == run_id and item.headers["ce-type"].startswith("io.tekton-runner.run.")
                   and item.body["state"] in ("succeeded", "failed") for item in received)
    return done


async def history(harness: Harness, run_id: str) -> list[tuple[str, str]]:
    """The run's stored transitions (as GET /runs/{id}/events gives them) as the CloudEvents' ids and types."""
    text = await (await harness.http.get(f"/runs/{run_id}/events")).text()
    entries = [json.loads(line.removeprefix("data: ")) for line in text.splitlines() if line.startswith("data: ")]
    return [(f"{run_id}.{entry['seq']}", f"io.tekton-runner.{entry['subject']}.{entry['state']}.v1")
            for entry in entries]


def got(received: list[Received]) -> list[tuple[str, str]]:
    return [(item.headers["ce-id"], item.headers["ce-type"]) for item in received]


async def test_every_transition_of_a_run_arrives_once_in_order_as_a_binary_cloudevent(
        harness: Harness, notified: Receiver) -> None:
    run = await harness.run_to_success(spec())
    received = await notified.until(ended(run["run_id"]))

    assert got(received) == (await history(harness, run["run_id"]))
    first, last = received[0], received[-1]
    assert first.path == "/events"
    assert first.headers["ce-specversion"] == "1.0" and first.headers["ce-source"] == "http://runner.test:8088"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["ce-type"] == "io.tekton-runner.run.pending.v1"
    assert last.headers["ce-type"] == "io.tekton-runner.run.succeeded.v1"
    assert last.body["run_id"] == run["run_id"] and last.body["reason"] == "Deployed"
    assert (last.body["workspace"], last.body["app"], last.body["subject"]) == ("demo", "shop", "run")
    steps = [item.body for item in received if item.body["subject"] == "step"]
    assert {"step": "migration", "state": "succeeded"}.items() <= next(
        body for body in steps if body["step"] == "migration" and body["state"] == "succeeded").items()


async def test_a_refusing_receiver_is_retried_and_never_holds_up_the_run(
        harness: Harness, notified: Receiver) -> None:
    notified.down = True
    run = await harness.run_to_success(spec())  # the chain ran to the end while every delivery got 503
    assert run["state"] == "succeeded" and notified.received == [] and notified.refused >= 1

    notified.down = False
    received = await notified.until(ended(run["run_id"]))
    assert got(received) == (await history(harness, run["run_id"]))  # nothing lost, none twice


async def test_transitions_not_delivered_before_a_restart_are_delivered_after_it(
        harness: Harness, notified: Receiver) -> None:
    delivered = await harness.run_to_success(spec())
    await notified.until(ended(delivered["run_id"]))
    notified.down = True
    pending = await harness.run_to_success(spec(app={"name": "cart", "port": 8080}))
    await harness.stop()  # the runner stops while the receiver refuses everything of the second run

    notified.down = False
    await harness.start()  # same database: the delivery position was stored
    received = await notified.until(ended(pending["run_id"]))
    assert got(received) == ((await history(harness, delivered["run_id"]))
                             + (await history(harness, pending["run_id"])))


async def test_without_a_notify_url_nothing_is_sent(harness: Harness) -> None:
    async with receiver() as found:
        await harness.run_to_success(spec())
        assert found.received == [] and found.refused == 0
