"""What the CloudEvents sink does with a parsed TaskRun event; called by handlers/events.py.

Nothing in an event is believed: an event for a live run, or for a registered app, makes the orchestrator
read that run's TaskRun from its own build namespace. Every event is counted once, by kind and outcome.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from ..chain.orchestrator import Orchestrator
from ..chain.status.metrics import Metrics
from ..models.ids import RunId
from ..models.runs import RunState
from ..models.taskruns import TaskRunEvent, TaskRunView
from ..store.apps import AppStore
from ..store.events import EventStore
from ..store.runs import RunNotFound, RunStore

log = logging.getLogger("tekton_runner.events")
LIVE = (RunState.PENDING, RunState.BUILDING)
MAX_TEXT = 200  # stored ce-id and type are cut to this length


class Outcome(StrEnum):
    """What became of an event; also the `action` label of the events metric."""

    IGNORED = "ignored"  # not a TaskRun event
    UNMATCHED = "unmatched"  # no live run or registered app
    DUPLICATE = "duplicate"
    ACCEPTED = "accepted"


def dedup_key(event: TaskRunEvent) -> str:
    """Same TaskRun, same type, same end: a re-send (which carries a fresh ce-id) is a duplicate."""
    view = event.taskrun
    condition = view.succeeded_condition
    ended = view.status.completion_time.isoformat() if view.status.completion_time else ""
    reason = condition.reason if condition else ""
    return f"{view.metadata.uid or view.metadata.namespace + '/' + view.metadata.name}:{event.type}:{ended}:{reason}"


class Events:
    def __init__(self, runs: RunStore, events: EventStore, apps: AppStore, metrics: Metrics, orchestrator: Orchestrator,
                 *, keep_per_subject: int) -> None:
        self._runs = runs
        self._events = events
        self._apps = apps
        self._metrics = metrics
        self._orchestrator = orchestrator
        self._keep = keep_per_subject

    def rejected(self) -> None:
        """Counts a request to the sink that was no usable event (too large, not a CloudEvent)."""
        self._metrics.events_total.labels("invalid", "rejected").inc()

    async def receive(self, event: TaskRunEvent | None) -> Outcome:
        """Records the event once and asks the orchestrator to look at its run or app; None is another type."""
        if event is None:
            self._metrics.events_total.labels("other", Outcome.IGNORED.value).inc()
            return Outcome.IGNORED
        outcome = await self._take(event)
        self._metrics.events_total.labels(event.kind, outcome.value).inc()
        return outcome

    async def _take(self, event: TaskRunEvent) -> Outcome:
        subject = await self._subject(event.taskrun)
        if subject is None:
            return Outcome.UNMATCHED
        if not await self._events.record_event(dedup_key(event), run_id=subject, ce_id=event.id[:MAX_TEXT],
                                             type_=event.type[:MAX_TEXT], keep=self._keep):
            return Outcome.DUPLICATE
        if event.taskrun.pushed and event.taskrun.app_id:
            self._orchestrator.look_at_app(event.taskrun.app_id)
        else:
            self._orchestrator.look_at_run(RunId(subject))
        log.debug("event %r (%s) makes the runner look at %s", event.id[:80], event.kind, subject)
        return Outcome.ACCEPTED

    async def _subject(self, view: TaskRunView) -> str | None:
        """What the event may make the runner look at: a live run or a registered app, named by its labels."""
        if view.pushed and view.app_id:
            return f"app:{view.app_id}" if await self._apps.get(view.app_id) is not None else None
        run_id = view.run_id
        if not run_id:
            return None
        try:
            run = await self._runs.get(run_id)
        except RunNotFound:
            return None
        return run_id if run.state in LIVE else None
