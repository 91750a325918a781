"""Managed workspaces: listed (GET /workspaces) and removed (DELETE /workspaces/{name})."""

from __future__ import annotations

from ..chain.orchestrator import Orchestrator
from ..chain.workspace_access import WorkspaceAccess
from ..models.api import WorkspaceRemoved, WorkspaceView
from ..models.ids import DNS_LABEL_PATTERN
from ..models.runs import RunState
from ..store.ports import PortStore
from ..store.runs import RunStore
from .errors import WorkspaceNotFound

MAX_NAME = 40
RUNS_PER_WORKSPACE = 1000


class Workspaces:
    def __init__(self, runs: RunStore, ports: PortStore, access: WorkspaceAccess, orchestrator: Orchestrator) -> None:
        self._runs = runs
        self._ports = ports
        self._access = access
        self._orchestrator = orchestrator

    async def workspaces(self) -> list[WorkspaceView]:
        """Every workspace the provisioner holds, with its apps, live runs and external ports."""
        ports = await self._ports.all()
        entries = []
        for target in await self._access.provisioner.list():
            runs = await self._runs.list(workspace=target.name, limit=RUNS_PER_WORKSPACE)
            last = max((run.updated_at for run in runs), default=None)
            entries.append(WorkspaceView(
                name=target.name, namespace=target.namespace, provisioner=target.provisioner,
                kubeconfig=str(target.kubeconfig) if target.kubeconfig else None,
                apps=sorted({run.app for run in runs if run.state is not RunState.DELETED}),
                live_runs=[run.id for run in runs if not run.state.terminal], last_activity=last,
                external_ports=[m.port for m in ports if m.workspace == target.name],
            ))
        return entries

    async def delete_workspace(self, name: str) -> WorkspaceRemoved:
        """Stops the workspace's chains and removes it; WorkspaceNotFound when neither it nor a run knows it.

        A workspace that runs remember is removed again without error, so the call is idempotent."""
        if not DNS_LABEL_PATTERN.match(name) or len(name) > MAX_NAME:
            raise WorkspaceNotFound(name)
        known = {target.name for target in await self._access.provisioner.list()}
        if name not in known and not await self._runs.list(workspace=name, limit=1):
            raise WorkspaceNotFound(name)
        return WorkspaceRemoved.model_validate(await self._orchestrator.delete_workspace(name))
