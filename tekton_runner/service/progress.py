"""Following a run: its stored transitions first, then each new one as it is written, until the run ends.

A run's transitions are numbered 1, 2, 3... without gaps (store/run_writes.py), so a live one numbered past
the next expected means an earlier one has not reached this replica's hub yet (written by another task
or replica, it comes by another path): the stream then reads the store from its last number, which holds
every transition that was published, and sends each once, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from ..chain.status.hub import ProgressHub, Signal
from ..models.ids import is_run_id
from ..models.progress import Progress, Subject
from ..models.runs import Run, RunState
from ..store import runs as stored
from .errors import RunNotFound, TooManyFollowers

ENDED = {state.value for state in RunState if state.terminal}
PAGE = 200


class KeepAlive:
    """Nothing happened for a while: a stream sends a comment so proxies keep the connection."""


KEEP_ALIVE = KeepAlive()


class Follow:
    """One open follow: iterate it for the transitions; `aclose` ends it and frees its place, exactly once,
    whether or not it was iterated (a client can leave before the first byte)."""

    def __init__(self, owner: Progresses, stream: AsyncGenerator[Progress | KeepAlive, None]) -> None:
        self._owner, self._stream, self._open = owner, stream, True

    def __aiter__(self) -> AsyncIterator[Progress | KeepAlive]:
        return self._stream

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._owner.following -= 1
            await self._stream.aclose()


class Progresses:
    def __init__(self, runs: stored.RunStore, hub: ProgressHub, *, max_followers: int, keepalive: float,
                 longest: float) -> None:
        self._runs = runs
        self._hub = hub
        self._max = max_followers
        self._keepalive = keepalive
        self._longest = longest  # a stream ends after this long; the client resumes with Last-Event-ID
        self.following = 0

    def close(self) -> None:
        """Ends every stream (at shutdown)."""
        self._hub.close()

    async def follow(self, run_id: str, *, after: int = 0) -> Follow:
        """The run's transitions numbered above `after`, live, ending with the run's end.

        Raises RunNotFound, or TooManyFollowers when `max_followers` streams are open already; both
        before anything is sent, so the caller can still answer with an error."""
        if self.following >= self._max:
            raise TooManyFollowers(self._max)
        run = await self._get(run_id)
        self.following += 1
        return Follow(self, self._stream(run, after))

    async def _stream(self, run: Run, after: int) -> AsyncGenerator[Progress | KeepAlive, None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._longest
        last = after
        while True:
            with self._hub.subscribe(run.id) as queue:  # before reading the store: nothing falls between
                sent_any = ended = False
                while True:  # the history, read once more when the run ended since: its end may be stored now
                    async for entry in self._history(run.id, last):
                        yield entry
                        last, sent_any = entry.seq, True
                        if _ends(entry):
                            return
                    if ended:
                        if last == 0 and not sent_any:  # a run from before histories were kept
                            yield _summary(await self._get(run.id))
                        return
                    ended = (await self._get(run.id)).state.terminal
                    if not ended:
                        break
                while True:
                    left = deadline - loop.time()
                    if left <= 0:
                        return
                    try:
                        item = await asyncio.wait_for(queue.get(), min(self._keepalive, left))
                    except TimeoutError:
                        if deadline > loop.time():
                            yield KEEP_ALIVE
                        continue
                    if item is Signal.CLOSED:
                        return
                    if item is Signal.CUT_OFF:
                        break  # subscribe again and catch up from the store
                    assert isinstance(item, Progress)
                    if item.seq > last + 1:
                        break  # an earlier one is still on its way (another writer, another replica): read them
                    if item.seq > last:
                        yield item
                        last = item.seq
                        if _ends(item):
                            return

    async def _history(self, run_id: str, after: int) -> AsyncIterator[Progress]:
        while True:
            page = await self._runs.progress(run_id, after=after, limit=PAGE)
            for entry in page:
                yield entry
                after = entry.seq
            if len(page) < PAGE:
                return

    async def _get(self, run_id: str) -> Run:
        if not is_run_id(run_id):
            raise RunNotFound(run_id)
        try:
            return await self._runs.get(run_id)
        except stored.RunNotFound as error:
            raise RunNotFound(run_id) from error


def _ends(entry: Progress) -> bool:
    return entry.subject is Subject.RUN and entry.state in ENDED


def _summary(run: Run) -> Progress:
    return Progress(run_id=run.id, seq=0, at=run.updated_at, subject=Subject.RUN, state=run.state.value,
                    reason=run.reason, message=run.message)
