"""Runs: create (POST /run), read, list and delete; called by the runs handlers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..chain.orchestrator import Orchestrator
from ..chain.status.writer import StatusWriter
from ..models.api import RunsQuery
from ..models.ids import RunId, is_run_id, new_run_id
from ..models.images import default_repository
from ..models.runs import Run, RunState
from ..models.settings import Settings
from ..models.spec import RunSpec
from ..store import runs as stored
from ..store.ports import PortStore
from .errors import CursorNotFound, IdempotencyKeyReused, NotRedeployable, RunNotFound
from .ports import check_external_port
from .probing import ForwardView
from .sources import Sources

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


@dataclass(frozen=True)
class Submission:
    """The run a POST /run stands for; `replayed` when an earlier request with its Idempotency-Key made it."""

    run: Run
    replayed: bool = False


def image_reference(spec: RunSpec, run_id: RunId, registry: str) -> str:
    repository = spec.image.repository or default_repository(registry, spec.workspace, spec.app.name)
    return f"{repository}:{spec.image.tag or run_id}"


class Runs:
    def __init__(self, settings: Settings, runs: stored.RunStore, ports: PortStore, sources: Sources,
                 forward_view: ForwardView, orchestrator: Orchestrator, status: StatusWriter) -> None:
        self._settings = settings
        self._runs = runs
        self._status = status
        self._ports = ports
        self._sources = sources
        self._view = forward_view
        self._orchestrator = orchestrator

    async def create_run(self, spec: RunSpec, idempotency_key: str | None = None) -> Submission:
        """Checks what only the runner can check and stores the run, whose build request is then sent.

        Raises IdempotencyKeyReused, InvalidField (source) or PortTaken; a retry with the same key and
        request gets the run the first one made."""
        if idempotency_key is not None and (earlier := await self._runs.find_by_key(idempotency_key)) is not None:
            return _replay(earlier, spec)
        run_id = new_run_id()
        await self._sources.check(spec)
        await check_external_port(self._ports, self._view, spec.workspace, spec.app.name, spec.expose.external_port)
        await self._sources.pack(spec, run_id)
        try:
            run = await self._store(run_id, spec, idempotency_key)
        except stored.DuplicateRequest as duplicate:  # the same key raced in from another request
            return _replay(await self._runs.get(duplicate.run_id), spec)
        self._orchestrator.submit(run)  # sent by the dispatcher; the answer does not wait for Tekton
        return Submission(run)

    async def redeploy(self, run_id: str, idempotency_key: str | None = None) -> Submission:
        """Deploys an ended run's digest-pinned image again as a new run, without a build.

        Raises RunNotFound, NotRedeployable (no digest, or the run is still live), IdempotencyKeyReused or
        PortTaken; a retry with the same key gets the run the first one made."""
        source = await self.get(run_id)
        if idempotency_key is not None and (earlier := await self._runs.find_by_key(idempotency_key)) is not None:
            return _replay_redeploy(earlier, source)
        _check_redeployable(source)
        await check_external_port(self._ports, self._view, source.workspace, source.app,
                                  source.spec.expose.external_port)
        try:
            run = await self._status.run_redeployed(new_run_id(), source, idempotency_key=idempotency_key)
        except stored.DuplicateRequest as duplicate:  # the same key raced in from another request
            return _replay_redeploy(await self._runs.get(duplicate.run_id), source)
        self._orchestrator.start_chain(run.id)
        return Submission(run)

    async def _store(self, run_id: RunId, spec: RunSpec, idempotency_key: str | None) -> Run:
        """The one place a requested run is written: `pending`, with its steps `pending`."""
        image = image_reference(spec, run_id, self._settings.registry)
        return await self._status.run_created(run_id, spec, image, idempotency_key=idempotency_key)

    async def get(self, run_id: str) -> Run:
        if not is_run_id(run_id):
            raise RunNotFound(run_id)
        try:
            return await self._runs.get(run_id)
        except stored.RunNotFound:
            raise RunNotFound(run_id) from None

    async def list(self, query: RunsQuery) -> tuple[Sequence[Run], RunId | None]:
        """Newest first, filtered by the query, after its cursor run; the limit defaults to 100 and is clamped
        to 1..1000. With the page, the cursor of the next (None when this one is the last)."""
        states = [RunState(value) for value in query.state.split(",")] if query.state else []
        limit = min(max(query.limit if query.limit is not None else DEFAULT_LIMIT, 1), MAX_LIMIT)
        after = None
        if query.cursor is not None:
            try:
                after = await self._runs.get(query.cursor)
            except stored.RunNotFound:
                raise CursorNotFound(query.cursor) from None
        found = await self._runs.list(states=states, workspace=query.workspace, app=query.app, limit=limit + 1,
                                      after=after)
        page = found[:limit]
        return page, (page[-1].id if len(found) > limit else None)

    async def delete(self, run_id: str) -> Run:
        """Ends the run and removes its objects; the run, now `deleted`."""
        run = await self.get(run_id)
        try:
            return await self._orchestrator.delete(run.id)
        except stored.RunNotFound:
            raise RunNotFound(run_id) from None


def _check_redeployable(source: Run) -> None:
    """A run can be deployed again once it has ended with a digest its build reported (docs/api.md)."""
    if not source.digest:
        raise NotRedeployable(source.id, "it has no image digest (its build did not finish with one)")
    if not source.state.terminal:
        raise NotRedeployable(source.id, f"it is still {source.state.value}")


def _replay_redeploy(earlier: Run, source: Run) -> Submission:
    """A retried redeploy with the same Idempotency-Key gets the run it created, never a second one."""
    if earlier.redeploy_of != source.id:
        raise IdempotencyKeyReused(earlier.id)
    return Submission(earlier, replayed=True)


def _replay(earlier: Run, spec: RunSpec) -> Submission:
    """A retried POST with the same Idempotency-Key gets the run it created, never a second one."""
    if earlier.spec != spec or earlier.redeploy_of is not None:
        raise IdempotencyKeyReused(earlier.id)
    return Submission(earlier, replayed=True)
