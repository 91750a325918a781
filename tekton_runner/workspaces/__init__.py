"""Workspaces: where a run's objects go (a namespace, or a kind cluster per workspace), Harbor pull access,
dependency images through the mirror and the idle-TTL policy. Called by the chain and the HTTP API.
"""

from ..models.settings import WorkspaceSettings
from .choosing import kube_for, provisioner_for
from .errors import (
    InvalidWorkspace,
    KindFailed,
    KindMissing,
    RegistryConfigError,
    WorkspaceBusy,
    WorkspaceConflict,
    WorkspaceError,
)
from .expiry import WorkspaceActivity, expired_workspaces, latest_activity
from .images import dependency_images, mirrored_image
from .kind import KindProvisioner, PortsExhausted
from .kind_cli import KindCli
from .namespaces import NamespaceProvisioner
from .targets import Provisioner, WorkspaceTarget, checked_name, cluster_name, namespace_of

__all__ = [
    "InvalidWorkspace", "KindCli", "KindFailed", "KindMissing",
    "KindProvisioner", "NamespaceProvisioner", "PortsExhausted", "Provisioner", "RegistryConfigError",
    "WorkspaceActivity", "WorkspaceBusy", "WorkspaceConflict", "WorkspaceError", "WorkspaceSettings",
    "WorkspaceTarget", "checked_name", "cluster_name", "dependency_images", "expired_workspaces",
    "kube_for", "latest_activity", "mirrored_image", "namespace_of", "provisioner_for",
]
