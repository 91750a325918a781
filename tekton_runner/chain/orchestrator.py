"""The runner's orchestrator: submits runs, handles Tekton's events, resyncs from the cluster, tears down."""

from __future__ import annotations

import logging
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import aiohttp

from ..kube import KubeError
from ..models.apps import RegisteredApp, app_id_for
from ..models.ids import RunId
from ..models.locks import KeyedLocks
from ..models.logcontext import bind_run
from ..models.runs import Run, RunState
from ..models.taskruns import APP_ID_LABEL, TaskRunView
from ..store.runs import RunNotFound
from .build import adoption, listing, observation, trust
from .build.dispatching import Dispatcher
from .build.pacing import Pace
from .context import ChainContext
from .execution.sequence import AppLocks, drive
from .lifecycle import restoration, retirement
from .lifecycle.teardown import tear_down
from .runtime.leadership import Leadership
from .runtime.lookouts import Lookouts
from .runtime.scheduler import Scheduler

log = logging.getLogger("tekton_runner.orchestrator")
PAGE = 100  # live runs a resync reads at once; their TaskRuns are one LIST


class Orchestrator:
    """Work starts here only while this replica leads; a follower stores it and the leader finds it there
    (handover.py), so nothing passes between replicas but the database."""

    def __init__(self, ctx: ChainContext, scheduler: Scheduler, session: aiohttp.ClientSession,
                 leadership: Leadership) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self.leadership = leadership
        self._app_locks = AppLocks()
        self._run_locks: KeyedLocks[str] = KeyedLocks()
        self._lookouts = Lookouts(scheduler)
        pace = Pace(min_window=ctx.settings.dispatch_min_window, appear_timeout=ctx.settings.taskrun_appear_timeout)
        self.dispatcher = Dispatcher(ctx, session, pace, self._lock)

    def _lock(self, run_id: str) -> AbstractAsyncContextManager[None]:
        return self._run_locks.hold(run_id)

    def submit(self, run: Run) -> None:
        """A stored pending run's build request is due: the dispatcher sends it now (dispatching.py).

        On a follower nothing happens here: the leader's dispatcher finds the run stored (handover.py)."""
        if self.leadership.leading:
            self.dispatcher.submit(run)

    def start_chain(self, run_id: RunId) -> bool:
        """Drives the run's chain in this replica while it leads; False when not started (running, or a follower)."""
        if not self.leadership.leading:
            return False
        # Not limited: the chain takes its app's lock, then a slot for each pass (execution/sequence.py).
        return self.scheduler.spawn(f"chain:{run_id}", lambda: self._drive(run_id), limited=False)

    async def _drive(self, run_id: RunId) -> None:
        await drive(self.ctx, run_id, self._app_locks, self.scheduler)
        await self._clean_if_deleted(run_id)

    def look_at_run(self, run_id: RunId) -> None:
        """An event named this run: read its TaskRun from the API server soon (coalesced per run)."""
        if self.leadership.leading:
            self._lookouts.request(f"run:{run_id}", lambda: self._look_at_run(run_id))

    def look_at_app(self, app_id: str) -> None:
        """An event named a push build of this app: read the app's TaskRuns soon (coalesced per app)."""
        if self.leadership.leading:
            self._lookouts.request(f"app:{app_id}", lambda: self._look_at_app(app_id))

    async def stand_down(self) -> None:
        """Leadership is lost: every chain and look this replica started stops now (their state is stored)."""
        for key in sorted(self.scheduler.keys):
            if key.startswith(("chain:", "look:")):
                await self.scheduler.cancel(key)

    async def removed_elsewhere(self, run_id: RunId) -> None:
        """A run was deleted (perhaps by another replica) while this one ran its chain: the chain stops and
        the run's objects are removed again, in case a step applied one after the deleting replica's teardown."""
        if self.scheduler.active(f"chain:{run_id}"):
            await self.scheduler.cancel(f"chain:{run_id}")
            await self._clean_if_deleted(run_id)

    async def _clean_if_deleted(self, run_id: RunId) -> None:
        """A chain that ended on a deleted run tears it down once more (a removed workspace took its objects)."""
        run = await self.ctx.runs.get(run_id)
        if run.state is RunState.DELETED and run.reason != retirement.WORKSPACE_DELETED:
            with bind_run(run):
                await tear_down(self.ctx, run)

    async def _look_at_run(self, run_id: RunId) -> None:
        try:
            run = await self.ctx.runs.get(run_id)
        except RunNotFound:
            return
        if run.state not in (RunState.PENDING, RunState.BUILDING):
            return
        with bind_run(run, step="build"):
            try:
                view = await observation.read_build(self.ctx, run)
            except KubeError as error:
                log.warning("run %s: TaskRun not readable (%s); the resync looks again", run_id, error.message)
                return
            if view is not None:
                await self._observe(run_id, view)

    async def _look_at_app(self, app_id: str) -> None:
        registered = await self.ctx.apps.get(app_id)
        if registered is None:
            return
        try:
            items = await self.ctx.kube.list("tekton.dev/v1", "TaskRun", namespace=self.ctx.settings.build_namespace,
                                             labels={APP_ID_LABEL: app_id})
        except KubeError as error:
            log.warning("app %s: TaskRuns not readable (%s); the resync looks again", app_id, error.message)
            return
        for item in items:
            await self._take_push(registered, TaskRunView.model_validate(item))

    async def _take_push(self, registered: RegisteredApp, view: TaskRunView) -> None:
        """A push build read from the API server: recorded and observed only if it passes every check."""
        try:
            image = trust.check_push_build(view, registered, namespace=self.ctx.settings.build_namespace,
                                               eventlistener=self.ctx.settings.eventlistener_name)
        except trust.Untrusted as error:
            log.warning("not deploying a push build: %s", error)
            return
        async with self._lock(view.run_id or ""):
            run_id = await adoption.adopt(self.ctx, view, registered, image)
        if run_id is not None:
            await self._observe(run_id, view)

    async def _observe(self, run_id: RunId, view: TaskRunView) -> str:
        """Applies the API server's TaskRun to its run once it is shown to be that run's build."""
        async with self._lock(run_id):
            try:
                run = await self.ctx.runs.get(run_id)
            except RunNotFound:
                return "unmatched"
            with bind_run(run, step="build", taskrun=view.metadata.name):
                try:
                    if view.pushed:
                        trust.check_adopted_build(view, run)
                    else:
                        trust.check_requested_build(view, run, namespace=self.ctx.settings.build_namespace)
                except trust.Untrusted as error:
                    log.warning("run %s: not its build: %s", run_id, error)
                    return "untrusted"
                if not run.taskrun_uid and not view.pushed and view.metadata.uid:
                    self._appeared(view)
                if await observation.observe(self.ctx, run, view):
                    self.start_chain(run_id)
                    return "deploying"
                return (await self.ctx.runs.get(run_id)).state.value

    def _appeared(self, view: TaskRunView) -> None:
        """A requested TaskRun seen for the first time: its creation paces dispatch and frees a place."""
        now = self.ctx.clock.now()
        self.dispatcher.pace.appeared(view.metadata.creation_timestamp or now, seen_at=now)
        self.dispatcher.wake()

    async def resync(self) -> bool:
        """Reconciles every live run with the cluster: lost events, lost requests, interrupted chains.

        Live runs are read a page at a time and only their TaskRuns are listed (build/listing.py). False
        when TaskRuns could not be listed (the pass then still sends pending requests)."""
        registered = {app.id: app for app in await self.ctx.apps.all()}
        pushes = await self._resync_pushes(registered)
        complete = pushes is not None
        after: str | None = None
        while page := await self.ctx.runs.page((RunState.PENDING, RunState.BUILDING), after=after, limit=PAGE):
            after = page[-1].id
            try:
                requested: dict[str, TaskRunView] | None = await listing.taskruns_of_runs(
                    self.ctx, [run.id for run in page if not run.pushed])
            except KubeError as error:
                log.warning("resync: cannot list TaskRuns: %s", error.message)
                requested, complete = None, False
            for run in page:
                await self._resync_build(run, requested, pushes, registered.keys())
        await self.dispatcher.send_due(force=True)  # requests stored by an earlier process, or turned away
        after = None
        while page := await self.ctx.runs.page((RunState.DEPLOYING,), after=after, limit=PAGE):
            after = page[-1].id
            for run in page:
                self.start_chain(run.id)  # no-op while its chain is running
        await self._housekeeping()
        return complete

    async def _resync_build(self, run: Run, requested: dict[str, TaskRunView] | None,
                            pushes: dict[str, TaskRunView] | None, registered: Collection[str]) -> None:
        views = requested
        if run.pushed:  # push builds are listed by registered app: an unregistered app's were not asked for
            views = pushes if app_id_for(run.workspace, run.app) in registered else None
        if views is None:  # not listed: nothing can be concluded about this run in this pass
            return
        view = views.get(run.id)
        if view is not None:
            if not view.pushed:  # push builds were observed in _resync_pushes, after their checks
                await self._observe(run.id, view)
        elif run.state is RunState.BUILDING:
            with bind_run(run, step="build"):
                await self._check_missing_taskrun(run)

    async def _resync_pushes(self, registered: dict[str, RegisteredApp]) -> dict[str, TaskRunView] | None:
        """Push builds of registered apps not yet recorded or still live, taken as their events would be
        (a push whose events were lost is still found); None when they could not be listed."""
        try:
            views = await listing.push_taskruns(self.ctx, sorted(registered))
        except KubeError as error:
            log.warning("resync: cannot list push TaskRuns: %s", error.message)
            return None
        by_run = {view.run_id: view for view in views if view.run_id}
        ended = await self.ctx.runs.ended(list(by_run))
        for run_id, view in by_run.items():
            if run_id not in ended and view.app_id in registered:
                await self._take_push(registered[view.app_id], view)
        return by_run

    async def _housekeeping(self) -> None:
        pruned = await self.ctx.events.prune_events(older_than=timedelta(seconds=self.ctx.settings.event_retention))
        if pruned:
            log.info("forgot %d processed events older than %.0fs", pruned, self.ctx.settings.event_retention)
        for run in await restoration.restore_missing(self.ctx):
            self.ctx.metrics.restores_total.inc()
            log.info("run %s: objects of app %s/%s applied again", run.id, run.workspace, run.app)
        for workspace in await retirement.expire_idle(self.ctx):
            log.info("workspace %s removed after %ss without runs", workspace, self.ctx.settings.workspaces.idle_ttl)

    async def delete_workspace(self, workspace: str) -> dict[str, object]:
        """Stops the workspace's chains, then removes it with its runs' objects and ports."""
        for run in await self.ctx.runs.list(states=(RunState.DEPLOYING,), workspace=workspace, limit=10_000):
            await self.scheduler.cancel(f"chain:{run.id}")
        return await retirement.retire(self.ctx, workspace)

    async def _check_missing_taskrun(self, run: Run) -> None:
        if run.taskrun_uid:
            message = "the TaskRun was deleted before it finished"
            reason = "TaskRunDeleted"
        else:
            # Queued behind other requests, a run could be served only once the EventListener got to it:
            # while it keeps creating TaskRuns, the wait is counted from its latest one.
            since = max(run.accepted_at or run.created_at, self.dispatcher.pace.last_appeared or run.created_at)
            if self.ctx.clock.now() - since < timedelta(seconds=self.ctx.settings.taskrun_appear_timeout):
                return
            message = (f"the EventListener accepted the request (eventID {run.event_id}) but no TaskRun"
                       f" appeared within {self.ctx.settings.taskrun_appear_timeout:.0f}s of it or of the"
                       " EventListener's latest TaskRun; check its log for template or permission errors")
            reason = "TaskRunNotCreated"
        async with self._lock(run.id):
            fresh = await self.ctx.runs.get(run.id)
            if fresh.state is RunState.BUILDING:
                await self.ctx.status.build_failed(fresh, reason=reason, message=message)

    async def resync_forever(self, interval: float) -> None:
        while True:
            try:
                complete = await self.resync()
            except Exception:
                log.exception("resync failed; trying again in %.0fs", interval)
                complete = False
            self.ctx.metrics.resynced(complete=complete, at=self.ctx.clock.now().timestamp())
            await self.ctx.clock.sleep(interval)

    async def delete(self, run_id: RunId) -> Run:
        """Ends the run and removes the objects that still belong to it."""
        async with self._lock(run_id):
            run = await self.ctx.runs.get(run_id)
            await self.ctx.status.run_deleted(run_id, reason="Deleted", message="deleted on request",
                                              even_if_deleted=True)
        with bind_run(run):
            await self.scheduler.cancel(f"chain:{run_id}")
            await tear_down(self.ctx, run)
        return await self.ctx.runs.get(run_id)
