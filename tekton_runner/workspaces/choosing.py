"""Builds the configured provisioner and opens a Kube for a workspace target; used by the app factory and chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..kube import Kube
from ..manifests import Renderer
from ..models.settings import WorkspaceSettings
from .kind import KindProvisioner
from .namespaces import NamespaceProvisioner
from .targets import Provisioner, WorkspaceTarget


def provisioner_for(
    settings: WorkspaceSettings, *, kube: Kube, renderer: Renderer, node_address: str | None = None,
) -> Provisioner:
    """`namespace` works in the runner's own cluster through `kube`; `kind` makes a cluster per workspace."""
    if settings.provisioner == "kind":
        return KindProvisioner(renderer, settings)
    return NamespaceProvisioner(kube, renderer, settings, node_address=node_address)


@asynccontextmanager
async def kube_for(target: WorkspaceTarget, default: Kube) -> AsyncIterator[Kube]:
    """The runner's own Kube for a namespace workspace, a fresh connection for a kind workspace's cluster."""
    if target.kubeconfig is None:
        yield default
        return
    async with Kube.connect(str(target.kubeconfig)) as kube:
        yield kube
