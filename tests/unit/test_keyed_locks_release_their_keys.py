"""Per-key locks exclude holders of one key, not of others, and forget a key once nobody holds or waits for it."""

from __future__ import annotations

import asyncio

import pytest

from tekton_runner.models.locks import KeyedLocks


async def test_holders_of_one_key_take_turns_and_the_key_is_then_released() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def first() -> None:
        async with locks.hold("run-1"):
            order.append("first in")
            first_in.set()
            await let_go.wait()
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with locks.hold("run-1"):
            order.append("second in")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_in.wait()
    assert len(locks) == 1
    let_go.set()
    await asyncio.gather(*tasks)
    assert order == ["first in", "first out", "second in"]
    assert len(locks) == 0


async def test_other_keys_are_not_blocked() -> None:
    locks: KeyedLocks[tuple[str, str]] = KeyedLocks()
    async with locks.hold(("demo", "shop")):
        async with locks.hold(("demo", "cart")):
            assert len(locks) == 2
    assert len(locks) == 0


async def test_a_waiter_cancelled_before_its_turn_leaves_nothing_behind() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    waiting = asyncio.Event()

    async def waiter() -> None:
        waiting.set()
        async with locks.hold("ws-demo"):
            raise AssertionError("the waiter was cancelled before its turn")

    async with locks.hold("ws-demo"):
        task = asyncio.create_task(waiter())
        await waiting.wait()  # the waiter ran on to the lock and waits there
        assert locks._entries["ws-demo"].users == 2  # the holder and the waiter
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(locks) == 1  # only the holder
    assert len(locks) == 0


async def test_a_holder_that_fails_or_is_cancelled_releases_the_key() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("run-2"):
            raise RuntimeError("step failed")
    holding = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("run-3"):
            holding.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(holder())
    await holding.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(locks) == 0


async def test_many_distinct_keys_leave_an_empty_map() -> None:
    locks: KeyedLocks[str] = KeyedLocks()

    async def use(key: str) -> None:
        async with locks.hold(key):
            await asyncio.sleep(0)

    await asyncio.gather(*(use(f"run-{number}") for number in range(1000)))
    assert len(locks) == 0
