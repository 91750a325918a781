"""PostgreSQL's wake-ups for a reader of rows other replicas write: one LISTEN connection, and reading on an
interval whenever it is lost.

Opened by `PostgresDatabase.watch` (the progress relay, chain/status/relaying.py, holds one per replica).
The connection is its own, outside the pool, named `tekton-runner-listen` in `pg_stat_activity`. A
notification's payload is never read: it only means "look". A connection can die silently (a cut
network delivers nothing), so one that brought no notification for `PROBE_SECONDS` is asked `SELECT 1`.
Once it is lost, `changed` returns every interval (the caller reads on that interval) while reconnecting
with back-off; the first attempt is at once. Notifications sent meanwhile are gone, so listening again
returns at once too: the caller reads what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from ..models.clock import Clock

log = logging.getLogger("tekton_runner.store")
LISTENER_NAME = "tekton-runner-listen"  # application_name of the listening connection
PROBE_SECONDS = 15.0
PROBE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
MAX_DELAY = 30.0


class Listener:
    """A `Watch` on PostgreSQL (store/database.py); `open` before the first `changed`, `close` at the end."""

    def __init__(self, url: str, channel: str, *, interval: float, clock: Clock,
                 probe: float = PROBE_SECONDS) -> None:
        self._url, self._channel = url, channel
        self._interval, self._clock, self._probe = interval, clock, probe
        self._max_delay = min(MAX_DELAY, 30 * interval)
        self._connection: Any = None
        self._woken = asyncio.Event()  # a notification came, or the connection ended
        self._delay = interval
        self._retry_at = 0.0  # on the clock's monotonic time

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def open(self) -> None:
        """Listens, or starts out reading on the interval when the server cannot be reached yet."""
        await self._connect()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=PROBE_TIMEOUT)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                connection.terminate()

    async def changed(self) -> None:
        if self._connection is not None:
            woken = await self._woken_within(self._probe)
            if self.listening and (woken or await self._answers()):
                return
            self._lost()
            return  # whatever was notified while it was dying is missed: read now
        if self._clock.monotonic() >= self._retry_at and await self._connect():
            return  # listening again: read what was stored meanwhile
        await self._clock.sleep(self._interval)

    async def _woken_within(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._woken.wait()
        except TimeoutError:
            return False
        self._woken.clear()  # before the caller reads: a later notification sets it again
        return True

    async def _answers(self) -> bool:
        try:
            await self._connection.fetchval("SELECT 1", timeout=PROBE_TIMEOUT)
        except Exception:  # whatever the failure, the connection cannot be trusted
            return False
        return True

    async def _connect(self) -> bool:
        connection: Any = None
        try:
            connection = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT,
                                               server_settings={"application_name": LISTENER_NAME})
            connection.add_termination_listener(self._ended)
            await connection.add_listener(self._channel, self._notified)
        except Exception as error:  # refused, unreachable, timed out: try again later
            if connection is not None:
                connection.terminate()
            self._retry_at = self._clock.monotonic() + self._delay
            log.warning("cannot listen for %s (%s: %s); reading every %.1fs, trying again in %.1fs",
                        self._channel, type(error).__name__, error, self._interval, self._delay)
            self._delay = min(self._delay * 2, self._max_delay)
            return False
        self._connection, self._delay = connection, self._interval
        self._woken.clear()
        log.info("listening for %s", self._channel)
        return True

    def _lost(self) -> None:
        connection, self._connection = self._connection, None
        connection.terminate()
        self._retry_at = self._clock.monotonic()
        log.warning("the connection listening for %s was lost; reading every %.1fs until it is back",
                    self._channel, self._interval)

    def _notified(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self._woken.set()

    def _ended(self, _connection: Any) -> None:
        self._woken.set()
