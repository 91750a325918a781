"""A run step's container logs, read through the API server; bounded in bytes, time and open follows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..chain.context import ChainContext
from ..chain.logs.sources import LogsUnavailable, PodLogs, locate
from ..chain.logs.streaming import LogCopy, Write
from ..kube import KubeError
from ..models.ids import is_run_id
from ..models.runs import Run, StepName
from ..store import runs as stored
from .errors import ClusterUnreadable, LogsNotAvailable, RunNotFound, TooManyLogFollows

Alive = Callable[[], bool]


class FollowSlots:
    """How many log follows are open, bounded by TEKTON_RUNNER_LOGS_MAX_FOLLOWS."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def take(self) -> bool:
        """A slot for one more follow, or False when all are in use."""
        if self.active >= self.limit:
            return False
        self.active += 1
        self._idle.clear()
        return True

    def give_back(self) -> None:
        self.active -= 1
        if self.active == 0:
            self._idle.set()

    async def idle(self) -> None:
        """Returns once no follow is open (tests wait on it instead of sleeping)."""
        await self._idle.wait()


class LogStream:
    """The pods of one step, found; `copy` writes their logs and frees the follow slot at the end."""

    def __init__(self, logs: Logs, pods: list[PodLogs], *, follow: bool, deadline: float) -> None:
        self._logs, self._pods, self._follow, self._deadline = logs, pods, follow, deadline

    async def copy(self, write: Write, *, alive: Alive) -> None:
        settings, clock = self._logs.ctx.settings, self._logs.ctx.clock
        try:
            copy = LogCopy(write, follow=self._follow, max_bytes=settings.logs_max_bytes,
                           poll_interval=settings.poll_interval, clock=clock)
            await copy.run(self._pods, alive=alive, deadline=self._deadline)
        finally:
            self.close()

    def close(self) -> None:
        if self._follow:
            self._follow = False
            self._logs.follows.give_back()


class Logs:
    def __init__(self, ctx: ChainContext) -> None:
        self.ctx = ctx
        self.follows = FollowSlots(ctx.settings.logs_max_follows)

    async def open(self, run_id: str, step: StepName, *, follow: bool, alive: Alive) -> LogStream:
        """Finds the step's pods (a follower waits for pods that may still come).

        Raises RunNotFound, TooManyLogFollows, LogsNotAvailable (why there is nothing to read) or
        ClusterUnreadable, all before anything is sent."""
        run = await self._run(run_id)
        if follow and not self.follows.take():
            raise TooManyLogFollows(self.follows.limit)
        deadline = self.ctx.clock.monotonic() + self.ctx.settings.logs_follow_timeout
        try:
            pods = await self._wait_for_pods(run, step, follow=follow, deadline=deadline, alive=alive)
        except BaseException:
            if follow:
                self.follows.give_back()
            raise
        return LogStream(self, pods, follow=follow, deadline=deadline)

    async def _wait_for_pods(self, run: Run, step: StepName, *, follow: bool, deadline: float,
                             alive: Alive) -> list[PodLogs]:
        while True:
            try:
                return await locate(self.ctx, run, step)
            except LogsUnavailable as unavailable:
                waiting = follow and unavailable.may_come and self.ctx.clock.monotonic() < deadline
                if not waiting or not alive():
                    raise LogsNotAvailable(unavailable.status, unavailable.error, unavailable.message) from None
            except KubeError as error:
                raise ClusterUnreadable(error.message) from error
            await self.ctx.clock.sleep(self.ctx.settings.poll_interval)
            run = await self._run(run.id)

    async def _run(self, run_id: str) -> Run:
        if not is_run_id(run_id):
            raise RunNotFound(run_id)
        try:
            return await self.ctx.runs.get(run_id)
        except stored.RunNotFound as error:
            raise RunNotFound(run_id) from error
