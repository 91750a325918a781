"""Owns the runner's background tasks: a concurrency limit, one task per key, logged failures, drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("tekton_runner.scheduler")


class Scheduler:
    """No bare create_task anywhere else: every background coroutine is started and awaited here."""

    def __init__(self, *, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._daemons: set[str] = set()
        self._resting: set[str] = set()  # tasks between two passes: nothing to lose by cancelling them
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    def slot(self) -> asyncio.Semaphore:
        """One of the limited slots, for a task started with limited=False that needs one only at times."""
        return self._slots

    @contextmanager
    def resting(self) -> Iterator[None]:
        """Marks the current task as idle until the block ends (a chain waiting for its due time): closing
        cancels it at once instead of granting it the grace period, since its state is stored."""
        task = asyncio.current_task()
        key = task.get_name() if task is not None else ""
        if self._closing or key not in self._tasks:
            raise asyncio.CancelledError()
        self._resting.add(key)
        try:
            yield
        finally:
            self._resting.discard(key)

    def active(self, key: str) -> bool:
        return key in self._tasks

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._tasks)

    def spawn(
        self, key: str, factory: Callable[[], Awaitable[None]], *, limited: bool = True, daemon: bool = False,
    ) -> bool:
        """Starts factory() under `key` unless a task with that key is still running; False if not started.

        A daemon (a loop that never ends by itself, like the resync) is cancelled as soon as closing starts.
        """
        if self._closing or key in self._tasks:
            return False
        if daemon:
            self._daemons.add(key)
        task = asyncio.get_running_loop().create_task(self._guard(key, factory, limited), name=key)
        self._tasks[key] = task
        if not daemon:
            self._idle.clear()
        task.add_done_callback(lambda _: self._forget(key))
        return True

    async def _guard(self, key: str, factory: Callable[[], Awaitable[None]], limited: bool) -> None:
        try:
            if limited:
                async with self._slots:
                    await factory()
            else:
                await factory()
        except asyncio.CancelledError:
            log.info("task %s cancelled", key)
            raise
        except Exception:
            log.exception("task %s failed", key)

    def _forget(self, key: str) -> None:
        self._tasks.pop(key, None)
        self._daemons.discard(key)
        if not self._tasks.keys() - self._daemons:
            self._idle.set()

    async def cancel(self, key: str) -> None:
        """Cancels the task under `key`, if any, and waits until it has stopped."""
        task = self._tasks.get(key)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def join(self, key: str) -> None:
        """Returns once the task under `key` has ended (at once when there is none)."""
        task = self._tasks.get(key)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Returns once no task is running but the daemons, which never end by themselves (for tests)."""
        await self._idle.wait()

    async def close(self, *, grace: float = 10.0) -> None:
        """Stops accepting work, lets running tasks finish for `grace` seconds, then cancels the rest."""
        self._closing = True
        for key in list(self._daemons | self._resting):
            await self.cancel(key)
        if not self._tasks:
            return
        pending = set(self._tasks.values())
        _, still_running = await asyncio.wait(pending, timeout=grace)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.gather(*still_running, return_exceptions=True)
