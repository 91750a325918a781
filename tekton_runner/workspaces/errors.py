"""Workspace failures as types: the chain retries `temporary` ones and fails the step on the rest."""

from __future__ import annotations


class WorkspaceError(Exception):
    """Shaped like kube.KubeError (message, reason, temporary, retry_after) so one handler serves both."""

    temporary = False
    default_reason = "WorkspaceError"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.retry_after = retry_after


class InvalidWorkspace(WorkspaceError):
    """The name cannot become a namespace or a kind cluster."""

    default_reason = "InvalidWorkspace"


class WorkspaceConflict(WorkspaceError):
    """Something with the workspace's name exists and is not the runner's to manage."""

    default_reason = "WorkspaceNotManaged"


class WorkspaceBusy(WorkspaceError):
    """The workspace is being torn down; it can be provisioned again once that has finished."""

    temporary = True
    default_reason = "WorkspaceTerminating"


class RegistryConfigError(WorkspaceError):
    """Registry settings cannot work: credentials file unreadable, registry host unresolvable, loopback."""

    default_reason = "RegistryUnreachable"


class KindMissing(WorkspaceError):
    """The kind binary is not installed where the settings say."""

    default_reason = "KindNotInstalled"


class KindFailed(WorkspaceError):
    """A kind command exited non-zero or timed out; Docker being busy or down is the usual cause."""

    temporary = True
    default_reason = "KindFailed"
