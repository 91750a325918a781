"""However many events name a run while the runner is looking at it, they add up to one more look."""

from __future__ import annotations

import asyncio

from tekton_runner.chain.runtime.lookouts import Lookouts
from tekton_runner.chain.runtime.scheduler import Scheduler


async def test_requests_during_a_look_add_up_to_one_more_look() -> None:
    scheduler = Scheduler(limit=1)
    lookouts = Lookouts(scheduler)
    release, entered = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    async def look() -> None:
        started.append(len(started))
        if len(started) == 1:
            entered.set()
            await release.wait()

    lookouts.request("run:r-1", look)
    await entered.wait()
    for _ in range(100):
        lookouts.request("run:r-1", look)
    assert started == [0] and len(lookouts) == 1
    release.set()
    await scheduler.wait_idle()
    assert started == [0, 1]
    assert len(lookouts) == 0  # the key is released


async def test_request_after_a_look_ends_starts_a_new_one() -> None:
    scheduler = Scheduler(limit=1)
    lookouts = Lookouts(scheduler)
    looks: list[str] = []

    async def look() -> None:
        looks.append("look")

    lookouts.request("app:a", look)
    await scheduler.wait_idle()
    lookouts.request("app:a", look)  # the first task may not be forgotten by the scheduler yet
    await scheduler.wait_idle()
    assert looks == ["look", "look"] and len(lookouts) == 0


async def test_keys_are_independent_and_a_failing_look_releases_its_key() -> None:
    scheduler = Scheduler(limit=1)
    lookouts = Lookouts(scheduler)
    seen: list[str] = []

    async def failing() -> None:
        seen.append("a")
        raise RuntimeError("API down")

    async def fine() -> None:
        seen.append("b")

    lookouts.request("run:a", failing)
    lookouts.request("run:b", fine)
    await scheduler.wait_idle()
    assert sorted(seen) == ["a", "b"] and len(lookouts) == 0


async def test_closing_scheduler_takes_no_new_looks() -> None:
    scheduler = Scheduler(limit=1)
    lookouts = Lookouts(scheduler)
    await scheduler.close(grace=0)

    async def look() -> None:
        raise AssertionError("must not run")

    lookouts.request("run:a", look)
    assert len(lookouts) == 0
