"""Sends stored build requests to the EventListener: the pending run rows are the outbox.

POST /run stores the run `pending` and hands it to this loop, which sends at once (reading back only the
run's state, under its lock); the orchestrator also wakes it when a TaskRun appears and runs a pass itself
on every resync, which picks up what an earlier process or another replica left stored. A pass sends the
oldest requests first, no more than the EventListener can turn into TaskRuns soon (pacing.py); the others
wait here, each saying how many requests are ahead of it. When the EventListener cannot take requests,
passes back off; a request the EventListener accepted is never sent again, and a re-sent one cannot make a
second build (its TaskRun has the run's own name).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

import aiohttp

from ...models.ids import RunId, taskrun_name
from ...models.logcontext import bind_run
from ...models.runs import Run, RunState
from ..context import ChainContext
from ..runtime.retry import RetryPolicy
from .pacing import Pace
from .requests import Sent, dispatch

log = logging.getLogger("tekton_runner.dispatch")
SENT_AT_ONCE = 8  # requests in flight to the EventListener within one pass
QUEUED = "Queued"
MAX_WAITING = 100_000  # pending requests read per pass (ids only); beyond this, they wait untold
MAX_SUBMITTED = 1_000  # runs kept as this replica stored them, so that sending them reads only their state


class Dispatcher:
    def __init__(self, ctx: ChainContext, session: aiohttp.ClientSession, pace: Pace,
                 lock: Callable[[str], AbstractAsyncContextManager[None]]) -> None:
        self._ctx = ctx
        self._session = session
        self.pace = pace
        self._lock = lock
        self._backoff = RetryPolicy(base_delay=ctx.settings.dispatch_retry_delay,
                                    max_delay=ctx.settings.dispatch_retry_max_delay)
        self._wake = asyncio.Event()
        self._passing = asyncio.Lock()
        self._failures = 0  # passes in a row that the EventListener turned away
        self._resume_at = 0.0  # monotonic time before which a pass does not send (back-off)
        self._first_attempts: dict[RunId, datetime] = {}  # only runs still pending and tried
        self._told: dict[RunId, int] = {}  # the queue position each waiting run was last told
        self._submitted: dict[RunId, Run] = {}  # pending runs as this replica stored them (POST /run)

    def wake(self) -> None:
        """Something may be sendable now: a new run, or a TaskRun appeared and made room."""
        self._wake.set()

    def submit(self, run: Run) -> None:
        """A run this replica has just stored `pending`: sent soon, without reading it back whole (its spec
        and image never change; only its state is read, under its lock, before it is sent)."""
        if len(self._submitted) < MAX_SUBMITTED:
            self._submitted[run.id] = run
        self.wake()

    async def send_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.send_due()
            except Exception:
                log.exception("dispatch pass failed; the next wake or resync tries again")
                delay = self._backoff.max_delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def send_due(self, *, force: bool = False) -> float | None:
        """One pass; `force` (the resync) ignores the back-off and tells every waiting run its place again.

        Returns the seconds until a backed-off pass may send again, None when only a wake can help."""
        async with self._passing:
            now = self._ctx.clock.monotonic()
            if not force and now < self._resume_at:
                return self._resume_at - now
            window = self.pace.window()
            submitted = set(self._submitted)  # a run stored while the queue is read is not in it, yet pending
            queue = await self._ctx.runs.build_queue(limit=MAX_WAITING)
            room = max(window - queue.at_eventlistener, 0)
            self._forget_all_but(queue.next_ids, submitted)
            left, turned_away = await self._send(queue.next_ids[:room], ahead=queue.at_eventlistener)
            delay = None
            if turned_away:
                self._failures += 1
                delay = self._backoff.delay(self._failures, None)
                self._resume_at = self._ctx.clock.monotonic() + delay
            else:
                self._failures = 0
                await self._tell_places(queue.next_ids[room:], behind=queue.at_eventlistener + left, refresh=force)
            self._ctx.metrics.dispatch_queue.labels("runner").set(queue.unsent - left)
            self._ctx.metrics.dispatch_queue.labels("eventlistener").set(queue.at_eventlistener + left)
            return delay

    async def _send(self, run_ids: list[RunId], *, ahead: int) -> tuple[int, int]:
        """Sends in order, a few at a time; stops at the first batch the EventListener turned away.

        Returns how many requests left the queue (accepted or failed for good) and how many were turned away."""
        left = 0
        for start in range(0, len(run_ids), SENT_AT_ONCE):
            batch = run_ids[start:start + SENT_AT_ONCE]
            async with contextlib.AsyncExitStack() as held:
                for run_id in sorted(batch):  # one order: another holder of several run locks cannot deadlock
                    await held.enter_async_context(self._lock(run_id))
                runs = await self._pending(batch)
                outcomes = await asyncio.gather(*(self._send_one(runs.get(run_id), ahead=ahead + left + index)
                                                  for index, run_id in enumerate(batch)))
            for run_id, outcome in zip(batch, outcomes, strict=True):
                if outcome is not Sent.RETRY:
                    for mapping in (self._first_attempts, self._told, self._submitted):
                        mapping.pop(run_id, None)
            left += sum(outcome is not Sent.RETRY for outcome in outcomes)
            turned_away = sum(outcome is Sent.RETRY for outcome in outcomes)
            if turned_away:
                return left, turned_away
        return left, 0

    async def _pending(self, run_ids: list[RunId]) -> dict[RunId, Run]:
        """Those of the runs still pending, read together while the caller holds their locks (one seen,
        deleted or sent meanwhile is not pending any more): a run this replica stored is read for its state."""
        kept = {run_id: self._submitted[run_id] for run_id in run_ids if run_id in self._submitted}
        states = await self._ctx.runs.states(list(kept)) if kept else {}
        pending = {run_id: run for run_id, run in kept.items() if states.get(run_id) is RunState.PENDING}
        others = [run_id for run_id in run_ids if run_id not in kept]
        pending.update((run.id, run) for run in await self._ctx.runs.get_many(others)
                       if run.state is RunState.PENDING)
        return pending

    async def _send_one(self, run: Run | None, *, ahead: int) -> Sent | None:
        """One run's request, sent while the caller holds the run's lock; None for a run no longer pending."""
        if run is None:  # its TaskRun was seen, or it was deleted, meanwhile
            return None
        first = self._first_attempts.setdefault(run.id, self._ctx.clock.now())
        with bind_run(run, step="build", taskrun=taskrun_name(run.id)):
            return await dispatch(self._ctx, self._session, run, first_attempt=first, ahead=ahead)

    async def _tell_places(self, held: list[RunId], *, behind: int, refresh: bool) -> None:
        """A waiting run's message says how many requests are ahead of it: once when it starts waiting,
        and again on each resync (not on every pass: a long queue would rewrite every row each time)."""
        rate = self.pace.rate()
        pace = f"; the EventListener creates about {rate:.1f} TaskRuns/s" if rate else ""
        for place, run_id in enumerate(held):
            ahead = behind + place
            if run_id in self._told and not (refresh and self._told[run_id] != ahead):
                continue
            self._told[run_id] = ahead
            await self._ctx.status.build_requeued(run_id, reason=QUEUED,
                                                  message=f"queued behind {ahead} build requests{pace}")

    def _forget_all_but(self, pending: list[RunId], submitted: set[RunId]) -> None:
        """Keys of runs no longer among the oldest pending ones are released (the maps stay bounded); of the
        runs kept as stored, only those `submitted` before the pending ones were read."""
        keep = set(pending)
        for mapping in (self._first_attempts, self._told):
            for run_id in mapping.keys() - keep:
                del mapping[run_id]
        for run_id in submitted - keep:
            self._submitted.pop(run_id, None)
