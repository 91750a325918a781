"""The leader picks up, from the database, work that arrived at any replica; a leader-only loop (app.py).

Followers answer the API and record Tekton's events but start nothing: a new run stays pending, a
redeployed run waits in deploying, a deleted run is only marked, an event is only recorded. Every short
interval the leader reads what was stored since it last looked: the run transitions (by their number in
the progress feed, a position kept in the database so a new leader resumes where the last one stopped)
and the recorded events (from where this term began: the resync at the start of each term covers older
ones). Nothing passes between replicas in memory.
"""

from __future__ import annotations

import logging

from ..models.ids import RunId
from ..models.progress import Subject
from ..models.runs import RunState
from ..store.progress_feed import Numbered, ProgressFeed
from ..store.runs import RunNotFound
from .orchestrator import Orchestrator

log = logging.getLogger("tekton_runner.handover")
POSITION = "leader"  # the progress feed's position of the leader's handover (deliveries table)
PAGE = 500


class Handover:
    def __init__(self, orchestrator: Orchestrator, feed: ProgressFeed) -> None:
        self._orchestrator = orchestrator
        self._ctx = orchestrator.ctx
        self._feed = feed

    async def serve_forever(self, interval: float) -> None:
        position = await self._feed.delivered(POSITION)
        if position is None:  # the first leader ever: what came before is the resync's
            position = await self._feed.last_number()
        seen = await self._ctx.events.last_number()
        while True:
            try:
                position = await self._transitions(position)
                seen = await self._events(seen)
            except Exception:  # the next pass reads from the same positions
                log.exception("handover pass failed; trying again in %.1fs", interval)
            await self._ctx.clock.sleep(interval)

    async def _transitions(self, position: int) -> int:
        page = await self._feed.after(position, limit=PAGE)
        if not page:
            return position
        for item in page:
            await self._take(item)
        await self._feed.mark_delivered(POSITION, page[-1].number)
        return page[-1].number

    async def _take(self, item: Numbered) -> None:
        entry = item.entry
        if entry.subject is not Subject.RUN:
            return
        try:
            run = await self._ctx.runs.get(entry.run_id)
        except RunNotFound:
            return
        orchestrator = self._orchestrator
        if entry.state == RunState.PENDING and run.state is RunState.PENDING:
            orchestrator.submit(run)  # wakes the dispatcher, which sends what is pending
        elif entry.state == RunState.DEPLOYING and run.state is RunState.DEPLOYING:
            orchestrator.start_chain(run.id)  # a redeploy stored elsewhere; no-op while its chain runs
        elif entry.state == RunState.DELETED:
            await orchestrator.removed_elsewhere(run.id)

    async def _events(self, seen: int) -> int:
        for number, subject in await self._ctx.events.subjects_after(seen, limit=PAGE):
            if subject.startswith("app:"):
                self._orchestrator.look_at_app(subject.removeprefix("app:"))
            else:
                self._orchestrator.look_at_run(RunId(subject))
            seen = number
        return seen
