"""Watch streams of the fake Kubernetes API: an event history by resourceVersion and live subscribers."""

import asyncio
import copy
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]
Matcher = Callable[[Json], bool]


@dataclass(frozen=True)
class WatchEvent:
    """One change as the server recorded it: ADDED, MODIFIED or DELETED, at the resourceVersion it made."""

    type: str
    group: str
    plural: str
    obj: Json
    resource_version: int

    def json(self) -> Json:
        return {"type": self.type, "object": copy.deepcopy(self.obj)}


@dataclass
class _Subscriber:
    group: str
    plural: str
    matches: Matcher
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)


@dataclass
class Watches:
    """Keeps every change (tests are short) so a watch from an old resourceVersion replays what it missed."""

    history: list[WatchEvent] = field(default_factory=list)
    _subscribers: list[_Subscriber] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def record(self, event_type: str, group: str, plural: str, obj: Json, resource_version: int) -> None:
        """Called by the store on every write; fans the event out to the open watches of that type."""
        event = WatchEvent(event_type, group, plural, copy.deepcopy(obj), resource_version)
        self.history.append(event)
        for subscriber in self._subscribers:
            if (subscriber.group, subscriber.plural) == (group, plural) and subscriber.matches(event.obj):
                subscriber.queue.put_nowait(event)

    @property
    def open(self) -> int:
        return len(self._subscribers)

    async def wait_open(self, count: int = 1) -> None:
        """Wait until at least `count` watches are open: after that, every change reaches them."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self._subscribers) >= count)

    def end_all(self) -> None:
        """End every open watch stream, as an API server does on restart or when a watch times out."""
        for subscriber in self._subscribers:
            subscriber.queue.put_nowait(None)

    async def stream(
        self, group: str, plural: str, matches: Matcher, initial: list[Json], since: int | None
    ) -> AsyncGenerator[Json, None]:
        """Events for one watch: the current objects as ADDED (no resourceVersion given) or the changes
        after `since`, then live changes until the stream is ended or the consumer goes away."""
        subscriber = _Subscriber(group, plural, matches)
        self._subscribers.append(subscriber)
        missed = list(self.history)  # taken with the subscription, before any await: no gap, no duplicate
        async with self._changed:
            self._changed.notify_all()
        try:
            if since is None:
                for obj in initial:
                    yield {"type": "ADDED", "object": copy.deepcopy(obj)}
            else:
                for event in missed:
                    if event.resource_version > since and (event.group, event.plural) == (group, plural):
                        if matches(event.obj):
                            yield event.json()
            while (event_or_end := await subscriber.queue.get()) is not None:
                if since is None or event_or_end.resource_version > since:
                    yield event_or_end.json()
        finally:
            self._subscribers.remove(subscriber)
            async with self._changed:
                self._changed.notify_all()
