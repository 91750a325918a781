"""Hands each stored transition to the clients following that run, in this process.

History lives in the store (`RunStore.progress`); the hub carries only what happens after a client
subscribed. A subscriber that falls behind by more than its queue is cut off (`Signal.CUT_OFF` ends its
queue) and catches up from the store by the last number it saw: a slow client never holds memory. At
shutdown every queue gets `Signal.CLOSED`, so long-lived streams end cleanly.

Readers of every run's transitions (the notification loops) take a wake-up instead of a queue: one event
set on each publish, after which they read the store, so they hold nothing however far behind they are.

A transition can reach the hub twice: from this replica's status writer, and again from the relay
(relaying.py), which passes on every transition any replica stored. For each run being followed the hub
remembers the highest `seq` it passed on and drops anything not above it, so a subscriber gets each
transition once. One that arrives with a gap after it (it overtook an earlier one still on its way, from
another writer) is passed on all the same; the follower reads the store for what lies between (service/progress.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from ...models.progress import Progress


class Signal(Enum):
    CUT_OFF = "cut-off"  # fell behind: read the store from the last number seen, then subscribe again
    CLOSED = "closed"  # the runner is stopping


Item = Progress | Signal


class ProgressHub:
    def __init__(self, *, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Item]]] = {}
        self._passed: dict[str, int] = {}  # per followed run: the highest seq passed on to its subscribers
        self._wakeups: set[asyncio.Event] = set()
        self._closed = False

    def __len__(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    @contextmanager
    def subscribe(self, run_id: str) -> Iterator[asyncio.Queue[Item]]:
        """A queue of the run's transitions from now on, ended by a Signal."""
        queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=self._queue_size + 2)  # room for the signals
        if self._closed:
            queue.put_nowait(Signal.CLOSED)
        else:
            self._subscribers.setdefault(run_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._drop(run_id, queue)

    @contextmanager
    def wakeups(self) -> Iterator[asyncio.Event]:
        """An event set whenever any run's transition is published (clear it, read the store, wait)."""
        event = asyncio.Event()
        self._wakeups.add(event)
        try:
            yield event
        finally:
            self._wakeups.discard(event)

    def publish(self, entry: Progress) -> None:
        """A stored transition; passed on to the run's subscribers unless one as new was passed on already."""
        for event in self._wakeups:
            event.set()
        queues = self._subscribers.get(entry.run_id)
        if not queues or entry.seq <= self._passed.get(entry.run_id, 0):
            return
        self._passed[entry.run_id] = entry.seq
        for queue in list(queues):
            if queue.qsize() >= self._queue_size:
                self._drop(entry.run_id, queue)
                queue.put_nowait(Signal.CUT_OFF)
            else:
                queue.put_nowait(entry)

    def close(self) -> None:
        """Ends every subscription (at shutdown); later subscriptions end at once."""
        self._closed = True
        for run_id, queues in list(self._subscribers.items()):
            for queue in list(queues):
                self._drop(run_id, queue)
                queue.put_nowait(Signal.CLOSED)

    def _drop(self, run_id: str, queue: asyncio.Queue[Item]) -> None:
        queues = self._subscribers.get(run_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[run_id]
                self._passed.pop(run_id, None)
