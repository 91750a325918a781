"""POST /run (and a redeploy) whose COMMIT reached PostgreSQL but whose reply was lost answers 202 with its run,
stored and built once: the runner reaches the server through a proxy that cuts the connection after the server
committed (tests/lossy_postgres.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.databases import fresh_postgres_database
from tests.integration.harness import Harness, spec
from tests.integration.stored import rows
from tests.lossy_postgres import LossyProxy

CREATES = b"INSERT INTO runs"


@pytest_asyncio.fixture
async def proxy(postgres_server: str) -> AsyncIterator[LossyProxy]:
    async with LossyProxy(await fresh_postgres_database(postgres_server)).running() as running:
        yield running


@pytest_asyncio.fixture
async def database_url(proxy: LossyProxy) -> str:
    """The runner's store reaches PostgreSQL through the proxy."""
    return proxy.url


async def test_a_run_whose_commit_reply_is_lost_is_answered_202_and_built_once(
        harness: Harness, proxy: LossyProxy) -> None:
    proxy.lose_commit_reply(CREATES)
    headers = {"Idempotency-Key": "ui-click-1"}
    response = await harness.http.post("/run", json=spec(), headers=headers)
    assert response.status == 202, await response.text()
    assert proxy.lost == 1
    answered = await response.json()
    assert response.headers["Location"] == f"/runs/{answered['run_id']}"
    assert [row["id"] for row in await rows(harness, "runs")] == [answered["run_id"]]
    # Its first transition once (the dispatcher may have added the build's by now).
    assert [row["reason"] for row in await rows(harness, "progress")].count("Created") == 1
    await harness.settle()
    await harness.orchestrator.resync()  # the stored request is not sent a second time
    assert len(harness.listener.received) == 1
    retried = await harness.http.post("/run", json=spec(), headers=headers)
    assert retried.status == 200 and (await retried.json())["run_id"] == answered["run_id"]


async def test_runs_arriving_together_whose_shared_commit_reply_is_lost_are_each_answered_202(
        harness: Harness, proxy: LossyProxy) -> None:
    apps = [f"app{index}" for index in range(6)]
    proxy.lose_commit_reply(CREATES, skip=1)  # the first request's commit passes; the next one's reply is lost
    responses = await asyncio.gather(*(harness.http.post("/run", json=spec(app={"name": app, "port": 8080}))
                                       for app in apps))
    assert [response.status for response in responses] == [202] * 6
    assert proxy.lost == 1
    answered = [await response.json() for response in responses]
    assert [run["app"] for run in answered] == apps
    assert sorted(row["id"] for row in await rows(harness, "runs")) == sorted(run["run_id"] for run in answered)
    await harness.settle()
    await harness.orchestrator.resync()
    assert len(harness.listener.received) == 6


async def test_a_redeploy_whose_commit_reply_is_lost_is_answered_202_once(
        harness: Harness, proxy: LossyProxy) -> None:
    first = await harness.run_to_success(spec())
    proxy.lose_commit_reply(CREATES)
    response = await harness.http.post(f"/runs/{first['run_id']}/redeploy")
    assert response.status == 202, await response.text()
    assert proxy.lost == 1
    created = await response.json()
    await harness.settle()
    run = await harness.run(created["run_id"])
    assert (run["redeploy_of"], run["state"]) == (first["run_id"], "succeeded")
    assert len(harness.listener.received) == 1  # the first run's build only
    assert sorted(row["id"] for row in await rows(harness, "runs")) == sorted([first["run_id"], created["run_id"]])
