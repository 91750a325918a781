"""Group commit: writes that arrive while a transaction commits wait and share the next one.

Used by run_writes.py for new runs (POST /run). No task of its own: the first caller that finds no commit
running writes everything that waits (its own write among them) in one transaction, then answers each caller;
callers that arrived meanwhile wait for the next turn, and the first of them commits for all of those.

Answers are exact per caller: the batch writer returns a result or an error for each item (an error refuses
that item alone, the others are written), and nobody is answered before the commit. When the transaction
fails as a whole (a unique key another process took between the check and the insert, a lost connection) or
its committer is cancelled, each caller of that batch writes its item again alone, in a transaction of its
own, and gets what that one did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .database import Connection, Database

log = logging.getLogger("tekton_runner.store")
Item = TypeVar("Item")
Result = TypeVar("Result")

# Items in one transaction: bounds the statement sizes (an IN list of keys) and the time one commit holds.
MAX_BATCH = 100


class _Alone:
    """The answer of an item whose batch failed as a whole: its caller writes it by itself."""


ALONE = _Alone()


@dataclass(eq=False)  # found in the queue by identity
class _Waiting(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result | _Alone] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit(Generic[Item, Result]):
    """`write_batch(connection, items)` writes items inside the given transaction and returns, in order, each
    one's result or the exception to raise to its caller; `write_alone(item)` writes one in its own."""

    def __init__(self, database: Database,
                 write_batch: Callable[[Connection, Sequence[Item]], Awaitable[list[Result | Exception]]],
                 write_alone: Callable[[Item], Awaitable[Result]], *, max_batch: int = MAX_BATCH) -> None:
        self._db = database
        self._write_batch = write_batch
        self._write_alone = write_alone
        self._max_batch = max_batch
        self._waiting: list[_Waiting[Item, Result]] = []
        self._turn = asyncio.Lock()  # one batch commits at a time; the next one gathers meanwhile

    async def write(self, item: Item) -> Result:
        """Writes the item (with whatever else waits) and returns its result once committed, or raises its error."""
        waiting: _Waiting[Item, Result] = _Waiting(item)
        self._waiting.append(waiting)
        try:
            while not waiting.answer.done():
                async with self._turn:
                    if not waiting.answer.done():
                        batch, self._waiting = self._waiting[:self._max_batch], self._waiting[self._max_batch:]
                        await self._commit(batch)
        finally:
            if waiting in self._waiting:  # cancelled before its turn: nobody writes it
                self._waiting.remove(waiting)
        answer = waiting.answer.result()
        if isinstance(answer, _Alone):
            return await self._write_alone(item)
        return answer

    async def _commit(self, batch: list[_Waiting[Item, Result]]) -> None:
        results: list[Result | Exception] | list[_Alone] = [ALONE] * len(batch)
        try:
            async with self._db.transaction() as connection:
                written = await self._write_batch(connection, [waiting.item for waiting in batch])
            results = written  # committed
        except Exception as error:
            log.info("a group of %d writes failed as one (%s: %s); each is written alone",
                     len(batch), type(error).__name__, error)
        finally:
            # Cancelled (its caller went away) before the commit was known, or failed: the others write alone.
            for waiting, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    waiting.answer.set_exception(result)
                else:
                    waiting.answer.set_result(result)
