"""The scheduler limits concurrency, runs one task per key, survives failures and drains on close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tekton_runner.chain.runtime.scheduler import Scheduler


async def test_one_task_per_key_while_it_runs() -> None:
    scheduler = Scheduler(limit=4)
    gate = asyncio.Event()
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        await gate.wait()

    assert scheduler.spawn("chain:r-1", work)
    assert not scheduler.spawn("chain:r-1", work)
    gate.set()
    await scheduler.wait_idle()
    assert calls == 1
    assert scheduler.spawn("chain:r-1", work)  # free again once finished
    await scheduler.close()


async def test_concurrency_limit_is_respected() -> None:
    scheduler = Scheduler(limit=2)
    running, peak = 0, 0
    release = asyncio.Event()
    started = asyncio.Semaphore(0)

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        started.release()
        await release.wait()
        running -= 1

    for index in range(5):
        scheduler.spawn(f"k{index}", work)
    await started.acquire()
    await started.acquire()
    assert running == 2
    release.set()
    await scheduler.wait_idle()
    assert peak == 2
    await scheduler.close()


async def test_a_failing_task_is_logged_and_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    scheduler = Scheduler(limit=1)

    async def boom() -> None:
        raise RuntimeError("kaput")

    with caplog.at_level(logging.ERROR):
        scheduler.spawn("boom", boom)
        await scheduler.wait_idle()
    assert "task boom failed" in caplog.text
    assert scheduler.keys == frozenset()
    await scheduler.close()


async def test_close_cancels_what_does_not_finish_in_the_grace_period() -> None:
    scheduler = Scheduler(limit=1)
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def stuck() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    scheduler.spawn("stuck", stuck)
    await entered.wait()
    await scheduler.close(grace=0.0)
    assert cancelled.is_set() and scheduler.keys == frozenset()
    assert not scheduler.spawn("late", stuck)  # closed: no new work


async def test_close_stops_daemons_at_once_and_lets_work_finish() -> None:
    scheduler = Scheduler(limit=2)
    finish = asyncio.Event()
    finished = False

    stopped = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def work() -> None:
        nonlocal finished
        await finish.wait()
        finished = True

    scheduler.spawn("resync", forever, limited=False, daemon=True)
    scheduler.spawn("chain:r-1", work)
    closing = asyncio.ensure_future(scheduler.close(grace=3600.0))
    await stopped.wait()  # the daemon goes first, without waiting out the grace period
    assert scheduler.active("chain:r-1") and not closing.done()
    finish.set()
    await closing
    assert finished
