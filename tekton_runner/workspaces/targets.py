"""What a provisioned workspace is and the interface every provisioner offers; used by the chain and API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..models.ids import DNS_LABEL_PATTERN, workspace_namespace
from ..models.settings import ProvisionerKind
from .errors import InvalidWorkspace

# kind refuses cluster names over 50 characters; "ws-" leaves 47, and the run spec allows 40.
MAX_WORKSPACE_NAME = 47


@dataclass(frozen=True)
class WorkspaceTarget:
    """Where a workspace's objects go.

    `kubeconfig` None means the runner's own cluster; `node_address` None means "ask the cluster"
    (the first node's InternalIP), otherwise it is where the workspace's NodePorts answer.
    """

    name: str
    namespace: str
    kubeconfig: Path | None
    node_address: str | None
    provisioner: ProvisionerKind


class Provisioner(Protocol):
    """Creates, lists and removes workspaces; ensure() is idempotent and safe to call concurrently."""

    async def ensure(self, workspace: str) -> WorkspaceTarget: ...

    async def remove(self, workspace: str) -> None: ...

    async def list(self) -> list[WorkspaceTarget]: ...


def checked_name(workspace: str) -> str:
    """The workspace name, or InvalidWorkspace when it cannot name a namespace and a kind cluster."""
    if not DNS_LABEL_PATTERN.match(workspace) or len(workspace) > MAX_WORKSPACE_NAME:
        raise InvalidWorkspace(
            f"workspace {workspace!r} must be a DNS label of at most {MAX_WORKSPACE_NAME} characters"
        )
    return workspace


def namespace_of(workspace: str) -> str:
    return workspace_namespace(checked_name(workspace))


def cluster_name(workspace: str) -> str:
    """The kind cluster of a workspace: the same `ws-<name>` as its namespace."""
    return workspace_namespace(checked_name(workspace))
