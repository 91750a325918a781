"""Hands each stored transition to the clients following that run, in this process.

History lives in the store (`RunStore.progress`); the hub carries only what happens after a client
subscribed. A subscriber that falls behind by more than its queue is cut off (its queue ends with
None), and catches up from the store by the last number it saw: a slow client never holds memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from ...models.progress import Progress


class ProgressHub:
    def __init__(self, *, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[Progress | None]]] = {}

    def __len__(self) -> int:
        return sum(len(queues) for queues in self._subscribers.values())

    @contextmanager
    def subscribe(self, run_id: str) -> Iterator[asyncio.Queue[Progress | None]]:
        """A queue of the run's transitions from now on; None in it means: cut off, read the store."""
        queue: asyncio.Queue[Progress | None] = asyncio.Queue(maxsize=self._queue_size + 1)
        self._subscribers.setdefault(run_id, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._subscribers.get(run_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[run_id]

    def publish(self, entry: Progress) -> None:
        for queue in list(self._subscribers.get(entry.run_id, ())):
            if queue.qsize() >= self._queue_size:
                self._cut_off(entry.run_id, queue)
            else:
                queue.put_nowait(entry)

    def _cut_off(self, run_id: str, queue: asyncio.Queue[Progress | None]) -> None:
        self._subscribers[run_id].discard(queue)
        queue.put_nowait(None)  # the one slot kept free for this
        if not self._subscribers[run_id]:
            del self._subscribers[run_id]
