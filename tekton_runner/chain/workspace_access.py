"""Where a run's objects go: the workspace target (ensured by each run's first step) and a Kube for it."""

from __future__ import annotations

from contextlib import AsyncExitStack

from ..kube import Kube
from ..models.locks import KeyedLocks
from ..workspaces import Provisioner, WorkspaceTarget


class WorkspaceAccess:
    """Remembers where workspaces are and keeps connections to per-workspace clusters; closed with the app.

    Whether a workspace exists is never remembered: the cluster can lose it at any time (a namespace
    deleted by hand), so each run's first step ensures it again (`ensure`), and later steps use `target`.
    """

    def __init__(self, provisioner: Provisioner, default: Kube) -> None:
        self.provisioner = provisioner
        self._default = default
        self._targets: dict[str, WorkspaceTarget] = {}
        self._clients: dict[str, tuple[Kube, AsyncExitStack]] = {}
        self._locks: KeyedLocks[str] = KeyedLocks()

    async def ensure(self, workspace: str) -> WorkspaceTarget:
        """Creates or repairs the workspace (idempotent: the provisioner applies what is missing)."""
        async with self._locks.hold(workspace):
            self._targets[workspace] = await self.provisioner.ensure(workspace)
            return self._targets[workspace]

    async def target(self, workspace: str) -> WorkspaceTarget:
        """Where the workspace is: as last ensured, or ensured now when this process has not yet."""
        found = self._targets.get(workspace)
        return found if found is not None else await self.ensure(workspace)

    async def kube(self, workspace: str) -> Kube:
        target = await self.target(workspace)
        if target.kubeconfig is None:
            return self._default
        async with self._locks.hold(workspace):
            if workspace not in self._clients:
                stack = AsyncExitStack()
                client = await stack.enter_async_context(Kube.connect(str(target.kubeconfig)))
                self._clients[workspace] = (client, stack)
            return self._clients[workspace][0]

    async def existing_kube(self, workspace: str) -> Kube | None:
        """A Kube for a workspace that exists, without creating it (readers: logs); None when it does not."""
        if workspace not in self._targets:
            found = [target for target in await self.provisioner.list() if target.name == workspace]
            if not found:
                return None
            async with self._locks.hold(workspace):
                self._targets.setdefault(workspace, found[0])
        return await self.kube(workspace)

    async def forget(self, workspace: str) -> None:
        """Drops what is cached for a workspace (after it was removed)."""
        self._targets.pop(workspace, None)
        entry = self._clients.pop(workspace, None)
        if entry is not None:
            await entry[1].aclose()

    async def close(self) -> None:
        for workspace in list(self._clients):
            await self.forget(workspace)
