"""A UI that retries POST /run with the same Idempotency-Key gets one run and one build."""

from __future__ import annotations

import asyncio

from tests.databases import both_backends
from tests.integration.harness import Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


async def test_same_key_returns_the_same_run(harness: Harness) -> None:
    headers = {"Idempotency-Key": "ui-click-42"}
    first = await harness.http.post("/run", json=spec(), headers=headers)
    second, third = await asyncio.gather(
        harness.http.post("/run", json=spec(), headers=headers),
        harness.http.post("/run", json=spec(), headers=headers),
    )
    assert first.status == 202 and second.status == 200 and third.status == 200
    ids = {(await response.json())["run_id"] for response in (first, second, third)}
    assert len(ids) == 1
    await harness.settle()
    await harness.orchestrator.resync()  # a stored request already accepted is not sent again
    assert len(harness.listener.received) == 1


async def test_same_key_with_another_request_is_409(harness: Harness) -> None:
    headers = {"Idempotency-Key": "ui-click-43"}
    assert (await harness.http.post("/run", json=spec(), headers=headers)).status == 202
    other = await harness.http.post("/run", json=spec(app={"name": "other"}), headers=headers)
    assert other.status == 409 and (await other.json())["error"] == "idempotency_key_reused"
    await harness.settle()
    assert len(harness.listener.received) == 1


async def test_requests_without_a_key_are_separate_runs(harness: Harness) -> None:
    await harness.post_run(spec())
    await harness.post_run(spec())
    assert len((await (await harness.http.get("/runs")).json())["runs"]) == 2


async def test_first_requests_racing_with_one_key_make_one_run_and_all_name_it(harness: Harness) -> None:
    headers = {"Idempotency-Key": "ui-double-click"}
    responses = await asyncio.gather(*(harness.http.post("/run", json=spec(), headers=headers) for _ in range(8)))
    assert sorted(response.status for response in responses) == [200] * 7 + [202]
    assert len({(await response.json())["run_id"] for response in responses}) == 1
    await harness.settle()
    await harness.orchestrator.resync()
    assert len(harness.listener.received) == 1


async def test_requests_arriving_together_are_each_answered_with_their_own_stored_run(harness: Harness) -> None:
    apps = [f"app{index}" for index in range(8)]
    responses = await asyncio.gather(*(harness.http.post("/run", json=spec(app={"name": app, "port": 8080}))
                                       for app in apps))
    assert [response.status for response in responses] == [202] * 8
    answered = [await response.json() for response in responses]
    assert [run["app"] for run in answered] == apps and len({run["run_id"] for run in answered}) == 8
    for run in answered:
        assert (await harness.run(run["run_id"]))["app"] == run["app"]
