"""NamespaceProvisioner (the default): a labelled namespace ws-<name> in the runner's own cluster."""

from __future__ import annotations

import builtins

from ..kube import Kube
from ..manifests import Renderer
from ..models.locks import KeyedLocks
from ..models.settings import WorkspaceSettings
from ..models.taskruns import MANAGED_BY_LABEL, MANAGER, WORKSPACE_LABEL
from .errors import InvalidWorkspace, WorkspaceBusy
from .preparing import check_namespace, is_managed, prepare_namespace
from .targets import WorkspaceTarget, checked_name, namespace_of


class NamespaceProvisioner:
    def __init__(
        self, kube: Kube, renderer: Renderer, settings: WorkspaceSettings, *, node_address: str | None = None,
    ) -> None:
        self._kube = kube
        self._renderer = renderer
        self._settings = settings
        self._node_address = node_address  # Settings.node_address: None lets the chain ask the cluster
        self._locks: KeyedLocks[str] = KeyedLocks()

    def _target(self, workspace: str) -> WorkspaceTarget:
        return WorkspaceTarget(
            name=workspace, namespace=namespace_of(workspace), kubeconfig=None,
            node_address=self._node_address, provisioner="namespace",
        )

    async def ensure(self, workspace: str) -> WorkspaceTarget:
        target = self._target(checked_name(workspace))
        async with self._locks.hold(workspace):
            await prepare_namespace(
                self._kube, self._renderer, self._settings, workspace=workspace, namespace=target.namespace,
            )
        return target

    async def remove(self, workspace: str) -> None:
        """Deletes the namespace and with it everything in it; a missing namespace is already removed."""
        namespace = namespace_of(workspace)
        async with self._locks.hold(workspace):
            try:
                found = await check_namespace(self._kube, namespace, workspace)
            except WorkspaceBusy:
                return  # already being deleted
            if found is not None:
                await self._kube.delete("v1", "Namespace", namespace)

    async def list(self) -> builtins.list[WorkspaceTarget]:
        found = await self._kube.list(
            "v1", "Namespace", labels={MANAGED_BY_LABEL: MANAGER}, has_label=WORKSPACE_LABEL,
        )
        targets = []
        for namespace in found:
            workspace = namespace["metadata"]["labels"][WORKSPACE_LABEL]
            try:
                target = self._target(workspace)
            except InvalidWorkspace:
                continue  # labelled by hand with a name the runner would never create
            if is_managed(namespace, workspace) and namespace["metadata"]["name"] == target.namespace:
                targets.append(target)
        return sorted(targets, key=lambda target: target.name)
