"""Group commit: writes that arrive while a transaction commits wait and share the next one.

Used by run_writes.py for new runs (POST /run). No task of its own: the first caller that finds no commit
running writes everything that waits (its own write among them) in one transaction, then answers each caller;
callers that arrived meanwhile wait for the next turn, and the first of them commits for all of those.

Answers are exact per caller: the batch writer returns a result or an error for each item (an error refuses
that item alone, the others are written), and nobody is answered before the commit. When the transaction
fails as a whole (a unique key another process took between the check and the insert, a lost connection) or
its committer is cancelled, each caller of that batch writes its item again alone, in a transaction of its
own, and gets what that one did. A failure after every write was made, other than a refusal (in the COMMIT,
whose reply can be lost with the connection although the server committed), or a cancellation then, leaves
the outcome unknown: the callers are told so, and their writes alone must find out from the database whether
their items are stored (run_writes.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .database import Connection, Database, UniqueViolation

log = logging.getLogger("tekton_runner.store")
Item = TypeVar("Item")
Result = TypeVar("Result")

# Items in one transaction: bounds the statement sizes (an IN list of keys) and the time one commit holds.
MAX_BATCH = 100


class _Signal:
    """What a waiting caller is woken with other than its result."""

    def __init__(self, meaning: str) -> None:
        self.meaning = meaning

    def __repr__(self) -> str:
        return self.meaning


ALONE = _Signal("alone")  # its batch failed as a whole, uncommitted: the caller writes its item by itself
UNKNOWN = _Signal("unknown")  # its batch failed or was left in its COMMIT: the caller's item may be stored
TURN = _Signal("turn")  # the caller commits next, for everyone waiting


@dataclass(eq=False)  # found in the queue by identity
class _Waiting(Generic[Item, Result]):
    item: Item
    wake: asyncio.Future[Result | _Signal] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit(Generic[Item, Result]):
    """`write_batch(connection, items)` writes items inside the given transaction and returns, in order, each
    one's result or the exception to raise to its caller; `write_alone(item, maybe_stored)` writes one in its
    own, `maybe_stored` when the batch's COMMIT may have stored it already."""

    def __init__(self, database: Database,
                 write_batch: Callable[[Connection, Sequence[Item]], Awaitable[list[Result | Exception]]],
                 write_alone: Callable[[Item, bool], Awaitable[Result]], *, max_batch: int = MAX_BATCH) -> None:
        self._db = database
        self._write_batch = write_batch
        self._write_alone = write_alone
        self._max_batch = max_batch
        self._queue: list[_Waiting[Item, Result]] = []
        self._busy = False  # a caller holds the turn: it commits, or is about to

    async def write(self, item: Item) -> Result:
        """Writes the item (with whatever else waits) and returns its result once committed, or raises its error."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        self._queue.append(waiting)
        if not self._busy:
            self._busy = True
            waiting.wake.set_result(TURN)
        try:
            woken = await waiting.wake
        except asyncio.CancelledError:
            if waiting in self._queue:  # not written: nobody will
                self._queue.remove(waiting)
            if waiting.wake.done() and not waiting.wake.cancelled() and waiting.wake.result() is TURN:
                self._pass_turn()
            raise
        if woken is TURN:
            try:
                woken = await self._commit_turn(waiting)
            finally:
                self._pass_turn()
        if woken is ALONE or woken is UNKNOWN:
            return await self._write_alone(item, woken is UNKNOWN)
        assert not isinstance(woken, _Signal)
        return woken

    def _pass_turn(self) -> None:
        """The next waiting caller commits; with nobody waiting, the next one to come does."""
        if self._queue:
            self._queue[0].wake.set_result(TURN)
        else:
            self._busy = False

    async def _commit_turn(self, own: _Waiting[Item, Result]) -> Result | _Signal:
        """Commits the oldest waiting items (the caller's own first) in one transaction, wakes their callers
        with their answers, and returns the caller's own (or raises its error)."""
        batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
        assert batch[0] is own  # the turn goes to the oldest caller waiting
        results: list[Result | Exception] | list[_Signal] = [ALONE] * len(batch)
        try:
            async with self._db.transaction() as connection:
                written = await self._write_batch(connection, [waiting.item for waiting in batch])
                results = [UNKNOWN] * len(batch)  # from here on, a failure may follow a commit the server made
            results = written  # committed
        except Exception as error:
            if isinstance(error, UniqueViolation):  # refused (SQLite sends held writes with the COMMIT)
                results = [ALONE] * len(batch)
            log.info("a group of %d writes failed as one (%s: %s); each is written alone%s", len(batch),
                     type(error).__name__, error, ", its outcome unknown" if results[0] is UNKNOWN else "")
        finally:
            # Failed, or cancelled (its caller went away) before the commit was known: the others write alone.
            for waiting, result in zip(batch[1:], results[1:], strict=True):
                if waiting.wake.done():  # its caller went away
                    continue
                if isinstance(result, Exception):
                    waiting.wake.set_exception(result)
                else:
                    waiting.wake.set_result(result)
        answer = results[0]
        if isinstance(answer, Exception):
            raise answer
        return answer
