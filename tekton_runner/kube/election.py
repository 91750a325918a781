"""Leader election over a Lease, as client-go's leaderelection does it; run by the app as a Scheduler daemon.

A candidate tries every retry period to take the Lease: it may when there is none, when it was released
(no holder), or when the holder has not renewed it for the lease duration as this replica observed it
(its own monotonic clock from when it last saw the record change, so clocks of different hosts never
meet). The leader renews every retry period; if it cannot renew for the renew deadline (shorter than the
duration), it stops leading at once, before any other replica may take over. On a clean stop it stops
leading first and then releases the Lease, so the next leader need not wait for the duration.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable

from ..models.clock import Clock
from .errors import Conflict, KubeError
from .leases import LeaseRecord, Leases, LeaseTerms

log = logging.getLogger("tekton_runner.election")
OnChange = Callable[[bool], Awaitable[None]]


class LeaderElector:
    def __init__(self, leases: Leases, terms: LeaseTerms, *, clock: Clock, on_change: OnChange) -> None:
        self._leases = leases
        self.terms = terms
        self._clock = clock
        self._on_change = on_change
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # monotonic time this replica saw the observed record first
        self.leading = False

    async def run(self) -> None:
        """Campaigns, leads while renewals succeed, and campaigns again; never returns by itself."""
        try:
            while True:
                while not await self._attempt(self.terms.renew_deadline):
                    await self._clock.sleep(self.terms.retry_period)
                await self._become(leading=True)
                await self._renew_until_lapsed()
                await self._become(leading=False)
        finally:
            if self.leading:  # a clean stop: the work ends first, then others may take the Lease at once
                await self._become(leading=False)
                await self._release()

    async def _renew_until_lapsed(self) -> None:
        terms = self.terms
        renewed = self._clock.monotonic()
        while True:
            left = terms.renew_deadline - (self._clock.monotonic() - renewed)
            await self._clock.sleep(max(min(terms.retry_period, left), 0.0))
            left = terms.renew_deadline - (self._clock.monotonic() - renewed)
            if left > 0 and await self._attempt(left):
                renewed = self._clock.monotonic()
                continue
            if self._taken() or left <= 0:
                return

    def _taken(self) -> bool:
        return self._observed is not None and self._observed.holder not in ("", self.terms.identity)

    async def _attempt(self, within: float) -> bool:
        """One acquire-or-renew; False on a conflict, an error or a Lease another holder still keeps."""
        try:
            async with asyncio.timeout(within):
                return await self._acquire_or_renew()
        except Conflict:
            log.debug("lease %s: another replica wrote it first", self.terms.name)
        except (KubeError, TimeoutError) as error:
            log.warning("lease %s: not acquired or renewed: %s", self.terms.name,
                        error.message if isinstance(error, KubeError) else "timed out")
        return False

    async def _acquire_or_renew(self) -> bool:
        terms, now = self.terms, self._clock.now()
        current = await self._leases.read()
        duration = math.ceil(terms.duration)
        if current is None:
            self._see(await self._leases.write(holder=terms.identity, duration_seconds=duration, acquire_time=now,
                                               renew_time=now, transitions=0, read_at=None))
            return True
        self._see(current)
        mine = current.holder == terms.identity
        if current.holder and not mine and not self._expired(current):
            return False
        self._see(await self._leases.write(
            holder=terms.identity, duration_seconds=duration, renew_time=now,
            acquire_time=current.acquire_time if mine and current.acquire_time else now,
            transitions=current.transitions if mine else current.transitions + 1, read_at=current))
        return True

    def _see(self, record: LeaseRecord) -> None:
        if self._observed is None or self._observed.resource_version != record.resource_version:
            self._observed, self._observed_at = record, self._clock.monotonic()

    def _expired(self, record: LeaseRecord) -> bool:
        return self._clock.monotonic() >= self._observed_at + record.duration_seconds

    async def _become(self, *, leading: bool) -> None:
        self.leading = leading
        transitions = self._observed.transitions if self._observed else 0
        log.info("%s %s the lease %s/%s (transitions %d)", self.terms.identity,
                 "now leads: holds" if leading else "no longer leads: gave up", self.terms.namespace,
                 self.terms.name, transitions)
        await self._on_change(leading)

    async def _release(self) -> None:
        """Leaves the Lease without a holder and with a one-second duration, as client-go does."""
        observed, now = self._observed, self._clock.now()
        if observed is None or observed.holder != self.terms.identity:
            return
        try:
            async with asyncio.timeout(self.terms.renew_deadline):
                self._see(await self._leases.write(holder="", duration_seconds=1, acquire_time=now, renew_time=now,
                                                   transitions=observed.transitions, read_at=observed))
            log.info("%s released the lease %s/%s", self.terms.identity, self.terms.namespace, self.terms.name)
        except (KubeError, TimeoutError):
            log.warning("lease %s: not released; others take it when it expires", self.terms.name)
