"""Whether this replica leads, and the work only the leader runs; built by the app, read by the orchestrator.

The leader's loops (resync, handover, notifications, the external-port relay) are Scheduler daemons that
start when leadership is gained and are cancelled when it is lost, together with whatever the orchestrator
started while leading (chains, looks at the cluster). Their state is in the database, so the next leader
resumes it. With election off (one replica) this replica leads from the start and never stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge

from .scheduler import Scheduler

log = logging.getLogger("tekton_runner.leadership")
Work = Callable[[], Awaitable[None]]


class Role(StrEnum):
    SINGLE = "single"  # election off: the only replica, always leading
    LEADER = "leader"
    FOLLOWER = "follower"


class Leadership:
    def __init__(self, scheduler: Scheduler, *, elected: bool, registry: CollectorRegistry) -> None:
        self._scheduler = scheduler
        self._elected = elected
        self.leading = False
        self._work: dict[str, Work] = {}
        self._stops: list[Work] = []
        self._changed = asyncio.Condition()
        self._gauge = Gauge("tekton_runner_leader", "1 while this replica leads (runs chains, resync, relay).",
                            registry=registry)
        self._changes = Counter("tekton_runner_leader_transitions", "Times this replica gained or lost leadership.",
                                ["change"], registry=registry)
        for change in ("gained", "lost"):
            self._changes.labels(change)

    @property
    def role(self) -> Role:
        if not self._elected:
            return Role.SINGLE
        return Role.LEADER if self.leading else Role.FOLLOWER

    def add(self, key: str, work: Work) -> None:
        """A loop only the leader runs (a daemon under `key` while leading)."""
        self._work[key] = work

    def on_loss(self, stop: Work) -> None:
        """Called when leadership is lost, after the loops are cancelled: ends what was started while leading."""
        self._stops.append(stop)

    async def wait(self, leading: bool) -> None:
        """Returns once this replica leads (or follows): for tools and tests that drive replicas."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.leading == leading)

    async def changed(self, leading: bool) -> None:
        """The elector's verdict (also called once with True when election is off)."""
        if leading == self.leading:
            return
        self.leading = leading
        self._gauge.set(1 if leading else 0)
        self._changes.labels("gained" if leading else "lost").inc()
        if leading:
            for key, work in self._work.items():
                self._scheduler.spawn(key, work, limited=False, daemon=True)
            log.info("leading: started %s", ", ".join(self._work) or "nothing")
        else:
            for key in self._work:
                await self._scheduler.cancel(key)
            for stop in self._stops:
                await stop()
            log.info("not leading: stopped %s and the chains; their state stays in the database",
                     ", ".join(self._work))
        async with self._changed:
            self._changed.notify_all()
