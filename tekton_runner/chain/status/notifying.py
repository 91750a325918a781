"""Delivers every stored run and step transition to a notification target, in order, never blocking a chain.

Each target (a CloudEvents receiver, GitHub commit statuses) has its own loop, started by the app factory
through the Scheduler. The loop pages through the `progress` table by its number across runs
(store/progress_feed.py), hands each transition to the target, and stores the last number it finished, so a
restart resumes there: nothing written while the runner was down or the receiver refused is lost (unless a run
wrote more than the 500 transitions it keeps meanwhile). Delivery is at least once: a transition sent just
before a stop may be sent again, with the same CloudEvent id. Temporary refusals are retried with back-off up
to the policy's attempts, then the transition is dropped with a warning; the loop holds one page in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from ...models.clock import Clock
from ...models.progress import Progress, Subject
from ...models.runs import Run, RunState
from ...models.spec import GitSource
from ...notify import DeliveryError
from ...notify.cloudevents import send_event
from ...notify.github import CommitState, repository_of, set_commit_status
from ...store.progress_feed import Numbered, ProgressFeed
from ...store.runs import RunStore
from ..runtime.retry import RetryPolicy
from .hub import ProgressHub
from .metrics import Metrics

log = logging.getLogger("tekton_runner.notify")
PAGE = 100


class Target(Protocol):
    @property
    def name(self) -> str:
        """Fixed: the key of its stored position and its metric label."""
        ...

    async def deliver(self, entry: Progress, run: Run) -> None:
        """Sends one transition of `run` (as stored now); raises DeliveryError when not taken."""
        ...


@dataclass(frozen=True)
class CloudEventTarget:
    """Each transition as a CloudEvent `io.tekton-runner.<run|step>.<state>.v1` (docs/notifications.md)."""

    session: aiohttp.ClientSession
    url: str
    source: str
    name: str = "cloudevents"

    async def deliver(self, entry: Progress, run: Run) -> None:
        data: dict[str, Any] = {**entry.model_dump(mode="json"), "workspace": run.workspace, "app": run.app}
        await send_event(self.session, self.url, event_id=f"{entry.run_id}.{entry.seq}",
                         event_type=f"io.tekton-runner.{entry.subject.value}.{entry.state}.v1",
                         source=self.source, subject=entry.run_id, time=entry.at, data=data)


@dataclass(frozen=True)
class GitHubStatusTarget:
    """A push run's commit status: pending when its build starts, success with the endpoint, failure naming
    the step; other runs and transitions are passed over."""

    session: aiohttp.ClientSession
    api: str
    token: str
    name: str = "github"

    async def deliver(self, entry: Progress, run: Run) -> None:
        source = run.spec.source
        if entry.subject is not Subject.RUN or not run.pushed or not isinstance(source, GitSource):
            return
        repository = repository_of(source.url)
        status = commit_status(entry, run)
        if repository is None or status is None:
            return
        state, description, target_url = status
        await set_commit_status(self.session, self.api, self.token, repository=repository, sha=source.revision,
                                state=state, description=description, target_url=target_url,
                                context=f"tekton-runner/{run.workspace}/{run.app}")


def commit_status(entry: Progress, run: Run) -> tuple[CommitState, str, str | None] | None:
    """The commit status a run transition stands for, or None when it changes nothing on GitHub."""
    if entry.state == RunState.BUILDING:
        return "pending", f"building run {run.id}", None
    if entry.state == RunState.SUCCEEDED:
        endpoint = run.endpoint
        where = (endpoint.external or endpoint.host_local) if endpoint else None
        return "success", f"deployed: {entry.message}", f"http://{where}" if where else None
    if entry.state == RunState.FAILED:
        step, _, reason = entry.reason.partition(":")
        return "failure", f"failed at step {step}: {reason}: {entry.message}", None
    return None


class Notifier:
    """One target's delivery loop; `prepare` before serving, then `deliver_forever` under the Scheduler."""

    def __init__(self, target: Target, *, feed: ProgressFeed, runs: RunStore, hub: ProgressHub, clock: Clock,
                 retry: RetryPolicy, metrics: Metrics) -> None:
        self.target = target
        self._feed, self._runs, self._hub = feed, runs, hub
        self._clock, self._retry, self._metrics = clock, retry, metrics

    async def prepare(self) -> None:
        """A target's first start begins after the history already stored, not with all of it."""
        if await self._feed.delivered(self.target.name) is None:
            await self._feed.mark_delivered(self.target.name, await self._feed.last_number())

    async def deliver_forever(self) -> None:
        with self._hub.wakeups() as wakeup:
            while True:
                wakeup.clear()  # before reading: a transition stored after the read sets it again
                if not await self.deliver_pending():
                    await wakeup.wait()

    async def deliver_pending(self) -> int:
        """Delivers one page of what is stored after the last delivered number; returns how many it took."""
        page = await self._feed.after(await self._feed.delivered(self.target.name) or 0, limit=PAGE)
        for item in page:
            await self._deliver(item)
            await self._feed.mark_delivered(self.target.name, item.number)
        return len(page)

    async def _deliver(self, item: Numbered) -> None:
        entry, name = item.entry, self.target.name
        run = await self._runs.get(entry.run_id)
        attempt = 1
        while True:
            try:
                await self.target.deliver(entry, run)
                self._metrics.notifications_total.labels(name, "delivered").inc()
                return
            except DeliveryError as error:
                problem, temporary = str(error), error.temporary
            except Exception as error:  # a bug must not stop every later notification: retried, then dropped
                log.exception("%s: delivering %s.%s failed unexpectedly", name, entry.run_id, entry.seq)
                problem, temporary = f"InternalError: {error!r}", True
            if not temporary or attempt >= self._retry.attempts:
                self._metrics.notifications_total.labels(name, "dropped").inc()
                log.warning("%s: dropped %s transition %s of run %s after %d attempt(s): %s", name,
                            entry.subject, entry.seq, entry.run_id, attempt, problem)
                return
            self._metrics.notifications_total.labels(name, "retried").inc()
            log.info("%s: %s; trying again (attempt %d)", name, problem, attempt + 1)
            await self._clock.sleep(self._retry.delay(attempt, None))
            attempt += 1
