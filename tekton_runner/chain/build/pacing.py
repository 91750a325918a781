"""How many build requests the EventListener may hold at once, from the rate its TaskRuns are seen to appear.

The EventListener answers a request at once but creates its TaskRun later, throttled by its own Kubernetes
client (about 5 per second with client-go's defaults). The dispatcher (dispatching.py) sends no more than
`window` requests ahead of the TaskRuns seen, so that the EventListener's backlog is one it can work off
within half the appear timeout at the rate it was measured to create TaskRuns; the rest wait in the runner's
own queue, where no timeout runs. Fed by the orchestrator with each requested TaskRun's creation time.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

# Only the most recent creations count: what the EventListener does now, not an hour ago.
SAMPLES, SPAN_SECONDS = 512, 30.0


class Pace:
    def __init__(self, *, min_window: int, appear_timeout: float) -> None:
        self._min_window = min_window
        self._horizon = appear_timeout / 2
        self._created: deque[float] = deque(maxlen=SAMPLES)  # sorted creation times (Unix seconds)
        self.last_appeared: datetime | None = None

    def appeared(self, created_at: datetime, *, seen_at: datetime) -> None:
        """A TaskRun made for one of our build requests was seen at `seen_at` (the runner's clock);
        `created_at` is the API server's stamp, which measures the EventListener's rate."""
        moment = created_at.timestamp()
        if self._created and moment < self._created[-1]:  # seen out of order: keep the times sorted
            ordered = sorted((*self._created, moment))
            self._created = deque(ordered, maxlen=SAMPLES)
        else:
            self._created.append(moment)
        if self.last_appeared is None or seen_at > self.last_appeared:
            self.last_appeared = seen_at

    def rate(self) -> float | None:
        """TaskRuns created per second over the last SPAN_SECONDS of creations seen; None before two."""
        if len(self._created) < 2:
            return None
        newest = self._created[-1]
        recent = [moment for moment in self._created if newest - moment <= SPAN_SECONDS]
        if len(recent) < 2:
            return None
        # creationTimestamp has whole seconds: a burst stamped within one second spans at least that second
        return (len(recent) - 1) / max(newest - recent[0], 1.0)

    def window(self) -> int:
        """How many accepted requests may wait for their TaskRuns at the EventListener at once."""
        rate = self.rate()
        return self._min_window if rate is None else max(self._min_window, int(rate * self._horizon))
