"""The runner's orchestrator: submits runs, handles Tekton's events, resyncs from the cluster, tears down."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp

from ..kube import KubeError
from ..models.ids import RunId
from ..models.runs import Run, RunState
from ..models.taskruns import APP_ID_LABEL, RUN_ID_LABEL, TaskRunView
from ..store.database import utcnow
from . import adopting, building, retiring
from .context import ChainContext
from .postbuild import AppLocks, run_chain
from .scheduling import Scheduler
from .teardown import tear_down

log = logging.getLogger("tekton_runner.orchestrator")


class Orchestrator:
    def __init__(self, ctx: ChainContext, scheduler: Scheduler, session: aiohttp.ClientSession) -> None:
        self.ctx = ctx
        self.scheduler = scheduler
        self._session = session
        self._app_locks = AppLocks()
        self._run_locks: dict[str, asyncio.Lock] = {}

    def _lock(self, run_id: str) -> asyncio.Lock:
        return self._run_locks.setdefault(run_id, asyncio.Lock())

    async def submit(self, run: Run) -> Run:
        """Hands a stored run to Tekton now; if that fails it stays pending and the resync retries."""
        async with self._lock(run.id):
            await building.dispatch(self.ctx, self._session, run)
        return await self.ctx.runs.get(run.id)

    def start_chain(self, run_id: RunId) -> bool:
        return self.scheduler.spawn(f"chain:{run_id}", lambda: run_chain(self.ctx, run_id, self._app_locks))

    async def on_taskrun(self, view: TaskRunView) -> str:
        """What an event said about a TaskRun, checked against the cluster; returns what was done."""
        run_id = view.run_id
        if not run_id:
            return "unmatched"
        fresh = await building.read_taskrun(self.ctx, view.metadata.namespace, view.metadata.name)
        if view.pushed:
            async with self._lock(run_id):
                if await adopting.adopt(self.ctx, fresh or view) is None:
                    return "unregistered"
        return await self._observe(RunId(run_id), fresh or view)

    async def _observe(self, run_id: RunId, view: TaskRunView) -> str:
        async with self._lock(run_id):
            try:
                run = await self.ctx.runs.get(run_id)
            except LookupError:
                return "unmatched"
            if await building.observe(self.ctx, run, view):
                self.start_chain(run_id)
                return "deploying"
            return (await self.ctx.runs.get(run_id)).state.value

    async def resync(self) -> None:
        """Reconciles every live run with the cluster: lost events, lost requests, interrupted chains."""
        taskruns = await self._labelled_taskruns()
        for pushed in (taskruns or {}).values():
            if pushed.pushed:  # a push build whose events were lost is still recorded and deployed
                async with self._lock(pushed.run_id or ""):
                    await adopting.adopt(self.ctx, pushed)
        waiting = await self.ctx.runs.list(states=(RunState.PENDING, RunState.BUILDING), limit=10_000)
        for run in waiting:
            view = taskruns.get(run.id) if taskruns is not None else None
            if view is not None:
                await self._observe(run.id, view)
            elif run.state is RunState.PENDING:
                async with self._lock(run.id):
                    await building.dispatch(self.ctx, self._session, await self.ctx.runs.get(run.id))
            elif taskruns is not None:
                await self._check_missing_taskrun(run)
        for run in await self.ctx.runs.list(states=(RunState.DEPLOYING,), limit=10_000):
            self.start_chain(run.id)  # no-op while its chain is running
        for workspace in await retiring.expire_idle(self.ctx):
            log.info("workspace %s removed after %ss without runs", workspace, self.ctx.workspace_settings.idle_ttl)

    async def delete_workspace(self, workspace: str) -> dict[str, object]:
        """Stops the workspace's chains, then removes it with its runs' objects and ports."""
        for run in await self.ctx.runs.list(states=(RunState.DEPLOYING,), workspace=workspace, limit=10_000):
            await self.scheduler.cancel(f"chain:{run.id}")
        return await retiring.retire(self.ctx, workspace)

    async def _labelled_taskruns(self) -> dict[str, TaskRunView] | None:
        items = []
        try:
            for label in (RUN_ID_LABEL, APP_ID_LABEL):
                items += await self.ctx.kube.list("tekton.dev/v1", "TaskRun",
                                                  namespace=self.ctx.settings.build_namespace, has_label=label)
        except KubeError as error:
            log.warning("resync: cannot list TaskRuns: %s", error.message)
            return None
        views = [TaskRunView.model_validate(item) for item in items]
        return {view.run_id: view for view in views if view.run_id}

    async def _check_missing_taskrun(self, run: Run) -> None:
        if run.taskrun_uid:
            message = "the TaskRun was deleted before it finished"
            reason = "TaskRunDeleted"
        else:
            since = run.accepted_at or run.created_at
            if utcnow() - since < timedelta(seconds=self.ctx.settings.taskrun_appear_timeout):
                return
            message = (f"the EventListener accepted the request (eventID {run.event_id}) but no TaskRun"
                       f" appeared within {self.ctx.settings.taskrun_appear_timeout:.0f}s;"
                       " check the EventListener's log for template or permission errors")
            reason = "TaskRunNotCreated"
        async with self._lock(run.id):
            fresh = await self.ctx.runs.get(run.id)
            if fresh.state is RunState.BUILDING:
                await building.fail_build(self.ctx, fresh, reason, message)

    async def resync_forever(self, interval: float) -> None:
        while True:
            try:
                await self.resync()
            except Exception:
                log.exception("resync failed; trying again in %.0fs", interval)
            await asyncio.sleep(interval)

    async def delete(self, run_id: RunId) -> Run:
        """Ends the run and removes the objects that still belong to it."""
        async with self._lock(run_id):
            run = await self.ctx.runs.get(run_id)
            await self.ctx.runs.transition(run_id, allowed=tuple(RunState), to=RunState.DELETED,
                                           reason="Deleted", message="deleted on request")
        await self.scheduler.cancel(f"chain:{run_id}")
        await tear_down(self.ctx, run)
        return await self.ctx.runs.get(run_id)
