"""POST /run answers once the run is stored; the build request goes out from the stored run afterwards."""

from __future__ import annotations

import asyncio
import json

from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec


async def test_run_is_answered_while_the_eventlistener_still_holds_its_request(harness: Harness) -> None:
    harness.listener.held = asyncio.Event()
    response = await harness.http.post("/run", json=spec())
    assert response.status == 202
    answer = await response.json()
    assert answer["state"] == "pending"
    assert (await harness.run(answer["run_id"]))["state"] == "pending"
    harness.listener.held.set()
    await harness.settle()
    run = await harness.run(answer["run_id"])
    assert run["state"] == "building" and run["event_id"]
    assert len(harness.listener.received) == 1


async def test_request_stored_by_an_earlier_process_is_sent_at_start(harness: Harness) -> None:
    harness.listener.status = 503
    run_id = (await harness.post_run(spec()))["run_id"]
    assert (await harness.run(run_id))["reason"] == "EventListenerUnavailable"
    await harness.stop()
    harness.listener.status = 202
    await harness.start()  # no resync in this harness: the dispatcher's first pass finds the stored run
    response = await harness.http.get(f"/runs/{run_id}/events")
    async for raw in response.content:
        line = raw.decode()
        if line.startswith("data: ") and json.loads(line[6:])["state"] == "building":
            break
    response.close()
    assert (await harness.run(run_id))["event_id"]
    assert len(harness.listener.received) == 2


async def test_turned_away_requests_are_sent_again_with_growing_back_off(harness: Harness) -> None:
    harness.listener.status = 503
    await harness.stop()
    harness.clock = clock = FakeClock()
    await harness.start(dispatch_retry_delay=1.0, dispatch_retry_max_delay=30.0)
    dispatcher = harness.orchestrator.dispatcher
    run_id = (await harness.post_run(spec()))["run_id"]
    waits = []
    for _ in range(3):
        wait = await dispatcher.send_due()  # within the back-off: nothing is sent
        assert wait is not None
        waits.append(wait)
        clock.advance(wait)
        await dispatcher.send_due()
    assert waits == [1.0, 2.0, 4.0] and len(harness.listener.received) == 4
    harness.listener.status = 202
    clock.advance(8.0)
    assert await dispatcher.send_due() is None
    run = await harness.run(run_id)
    assert run["state"] == "building" and len(harness.listener.received) == 5


async def test_a_run_deleted_before_its_request_went_out_is_never_sent(harness: Harness) -> None:
    harness.listener.status = 503
    run_id = (await harness.post_run(spec()))["run_id"]  # turned away: it waits, kept as it was stored
    sent = len(harness.listener.received)
    assert (await harness.http.delete(f"/runs/{run_id}")).status == 200
    harness.listener.status = 202
    await harness.orchestrator.dispatcher.send_due(force=True)
    await harness.settle()
    assert len(harness.listener.received) == sent
    assert (await harness.run(run_id))["state"] == "deleted"
