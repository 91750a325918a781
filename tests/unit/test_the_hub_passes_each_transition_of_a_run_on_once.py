"""The hub hears of a transition twice on a replica (its writer, then the relay bringing it back from the feed):
a subscriber's queue gets each of a run's transitions once, and never one older than what it already got."""

from __future__ import annotations

from datetime import UTC, datetime

from tekton_runner.chain.status.hub import ProgressHub
from tekton_runner.models.ids import RunId
from tekton_runner.models.progress import Progress, Subject

RUN = RunId("r-0123456789abcdef")


def transition(seq: int) -> Progress:
    return Progress(run_id=RUN, seq=seq, at=datetime(2026, 12, 2, tzinfo=UTC), subject=Subject.RUN, state="pending")


def test_a_transition_published_again_or_late_is_not_passed_on_twice() -> None:
    hub = ProgressHub()
    with hub.subscribe(RUN) as queue, hub.wakeups() as wakeup:
        for seq in (1, 1, 3, 2, 3, 4):  # written here (1, 3), relayed (1, 2, 3), written here (4)
            hub.publish(transition(seq))
        passed = [queue.get_nowait() for _ in range(queue.qsize())]
        assert [item.seq for item in passed if isinstance(item, Progress)] == [1, 3, 4]
        assert wakeup.is_set()  # readers of the whole feed are woken all the same
    with hub.subscribe(RUN) as queue:  # a new subscription starts afresh (it reads the store first)
        hub.publish(transition(2))
        assert queue.qsize() == 1
