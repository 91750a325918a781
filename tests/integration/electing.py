"""Electors against the fake API server on stepped time: time moves only when every elector sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tekton_runner.kube import Kube, LeaderElector, Leases, LeaseTerms
from tests.fakes import FakeKubeApi

NAMESPACE = "tekton-runner"
LEASE = "tekton-runner"
DURATION, RENEW_DEADLINE, RETRY = 15.0, 10.0, 2.0


class SteppedClock:
    """A Clock whose sleepers wake only when the test steps time to the earliest wake-up."""

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._serial = itertools.count()
        self._changed = asyncio.Condition()

    def now(self) -> datetime:
        return datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=self._now)

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._serial), future))
        async with self._changed:
            self._changed.notify_all()
        await future

    async def settle(self, sleepers: int) -> None:
        """Waits until `sleepers` tasks sleep: everything they do at this moment is done."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._live() >= sleepers)

    def advance(self) -> None:
        """Moves time to the earliest wake-up and wakes every sleeper due then."""
        self._now = max(self._now, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def _live(self) -> int:
        self._sleepers = [entry for entry in self._sleepers if not entry[2].done()]
        heapq.heapify(self._sleepers)
        return len(self._sleepers)


@dataclass
class Candidate:
    """One replica's elector, its task and what it was told (identity, leading, monotonic time)."""

    elector: LeaderElector
    changes: list[tuple[bool, float]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self.elector.leading

    def led_from(self) -> float:
        return next(at for leading, at in self.changes if leading)

    def stopped_at(self) -> float:
        return next(at for leading, at in self.changes if not leading)


@dataclass
class Election:
    fake: FakeKubeApi
    kube: Kube
    clock: SteppedClock
    candidates: list[Candidate] = field(default_factory=list)

    def candidate(self, identity: str) -> Candidate:
        terms = LeaseTerms(name=LEASE, namespace=NAMESPACE, identity=identity, duration=DURATION,
                           renew_deadline=RENEW_DEADLINE, retry_period=RETRY)
        candidate: Candidate

        async def changed(leading: bool) -> None:
            candidate.changes.append((leading, self.clock.monotonic()))

        candidate = Candidate(LeaderElector(Leases(self.kube, name=LEASE, namespace=NAMESPACE), terms,
                                            clock=self.clock, on_change=changed))
        candidate.task = asyncio.get_running_loop().create_task(candidate.elector.run(), name=identity)
        self.candidates.append(candidate)
        return candidate

    async def leader_and_follower(self) -> tuple[Candidate, Candidate]:
        """replica-a leading, then replica-b started and turned away once."""
        leader = self.candidate("replica-a")
        await self.until(lambda: leader.leading)
        follower = self.candidate("replica-b")
        await self.step()
        return leader, follower

    def running(self) -> list[Candidate]:
        return [candidate for candidate in self.candidates if candidate.task and not candidate.task.done()]

    async def step(self) -> None:
        """Time moves to the next wake-up once every elector sleeps; returns when all sleep again."""
        await self.clock.settle(len(self.running()))
        self.clock.advance()
        await self.clock.settle(len(self.running()))

    async def until(self, done: Callable[[], bool], *, steps: int = 100) -> None:
        for _ in range(steps):
            if done():
                return
            await self.step()
        raise AssertionError("not reached within the steps given")

    async def stop(self, candidate: Candidate) -> None:
        assert candidate.task is not None
        candidate.task.cancel()
        await asyncio.gather(candidate.task, return_exceptions=True)

    def lease(self) -> dict[str, object]:
        found = self.fake.get_object("leases", LEASE, NAMESPACE)
        assert found is not None
        return dict(found["spec"])


@asynccontextmanager
async def election(fake: FakeKubeApi, kubeconfig: Path) -> AsyncIterator[Election]:
    fake.add_namespace(NAMESPACE)
    async with Kube.connect(str(kubeconfig)) as kube:
        running = Election(fake, kube, SteppedClock())
        try:
            yield running
        finally:
            for candidate in running.running():
                await running.stop(candidate)
