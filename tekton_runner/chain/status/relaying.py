"""Brings every replica's transitions to this replica's clients: what the leader's chains write reaches a
client following a run through a follower, live. Run by every replica when leader election is on (app.py).

One task per replica reads the progress feed by number (store/progress_feed.py) from where it started,
oldest first, and publishes each transition to this replica's hub, which passes a run's transitions on
only above the newest it already passed on: the ones this replica wrote itself (published at once by
the status writer) are not delivered twice. The task is woken by the feed's watch: on PostgreSQL a
notification sent in the transaction that stored the transition (LISTEN/NOTIFY, one listening connection
per replica), so a burst of transitions costs one read per wake-up however many clients follow; on SQLite,
and on PostgreSQL while the listening connection is lost, every `interval` seconds, so nothing is missed.
The gauge `tekton_runner_progress_listening` exists only where the store can notify (PostgreSQL): on SQLite
reading on the interval is the design, not a fault, so it has no sample there and no alert fires on it.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Gauge

from ...store.progress_feed import ProgressFeed
from .hub import ProgressHub

log = logging.getLogger("tekton_runner.relay")
PAGE = 500


class Relay:
    def __init__(self, feed: ProgressFeed, hub: ProgressHub, *, interval: float, notifies: bool,
                 registry: CollectorRegistry) -> None:
        """`notifies`: the store can notify (PostgreSQL); only then is listening measured."""
        self._feed, self._hub, self._interval = feed, hub, interval
        self._listening = Gauge(
            "tekton_runner_progress_listening",
            "1 while this replica is notified of other replicas' run transitions; 0 while it reads them on an "
            "interval because its PostgreSQL listening connection is lost (no sample on SQLite)",
            registry=registry) if notifies else None

    async def serve_forever(self, after: int | None = None) -> None:
        """Relays what is stored after number `after` (by default, after the newest when listening began)."""
        async with self._feed.watch(interval=self._interval) as watch:
            position = after  # the newest is read once listening: nothing stored after it goes unnoticed
            while True:
                if self._listening is not None:
                    self._listening.set(1 if watch.listening else 0)
                try:
                    position = await (self._feed.last_number() if position is None else self.relay(position))
                except Exception:  # the next wake-up reads from the same position
                    log.exception("reading the progress feed failed; trying again at the next wake-up")
                await watch.changed()

    async def relay(self, position: int) -> int:
        """Publishes what was stored after `position`, in order; returns the last number read."""
        while True:
            page = await self._feed.after(position, limit=PAGE)
            for item in page:
                self._hub.publish(item.entry)
                position = item.number
            if len(page) < PAGE:
                return position
