"""The typed errors the service operations raise; handlers/failures.py maps each to its HTTP answer."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the runner cannot carry out; the message is meant for the API's user."""


class NotFound(ServiceError):
    """The thing the request names does not exist."""


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r}")
        self.run_id = run_id


class CursorNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"cursor: no run {run_id!r}; a cursor is the `next` of a previous page")


class AppNotFound(NotFound):
    def __init__(self, app_id: str) -> None:
        super().__init__(f"no app {app_id!r}")
        self.app_id = app_id


class WorkspaceNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no workspace {name!r}")
        self.name = name


class NoEndpoint(NotFound):
    def __init__(self, workspace: str, app: str) -> None:
        super().__init__(f"{workspace}/{app} has no deployed endpoint")
        self.workspace, self.app = workspace, app


class ArchiveLinkUnknown(NotFound):
    def __init__(self) -> None:
        super().__init__("unknown or already used archive link")


class InvalidField(ServiceError):
    """One field of the request breaks a rule only the runner can check (what exists, what is allowed here)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class Conflict(ServiceError):
    """The request is valid but clashes with what the runner holds."""


class PortTaken(Conflict):
    """The requested external port is another app's (`owner`), or held by another process (`owner` None)."""

    field = "expose.external_port"

    def __init__(self, port: int, owner: str | None) -> None:
        held_by = f"is already mapped to {owner}" if owner else "is held by another process on this host"
        super().__init__(f"external port {port} {held_by}")
        self.port, self.owner = port, owner

    @property
    def reason(self) -> str:
        return f"taken by {self.owner}" if self.owner else "held by another process"


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key already made run `run_id` from a different request."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"Idempotency-Key was used for run {run_id} with a different request")
        self.run_id = run_id


class NotRedeployable(Conflict):
    """The run cannot be deployed again: it has no digest-pinned image yet, or it is still live."""

    def __init__(self, run_id: str, why: str) -> None:
        super().__init__(f"run {run_id} cannot be redeployed: {why}")
        self.run_id, self.why = run_id, why


class TooLarge(ServiceError):
    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} is larger than {limit} bytes")
        self.limit = limit


class TriggerFailed(ServiceError):
    """The build cluster's API server refused or failed a change to an app's webhook Trigger."""

    action = "changed"

    def __init__(self, detail: str) -> None:
        super().__init__(f"the webhook Trigger could not be {self.action}: {detail}")
        self.detail = detail


class TriggerNotApplied(TriggerFailed):
    action = "applied"


class TriggerNotDeleted(TriggerFailed):
    action = "deleted"


class Busy(ServiceError):
    """The runner holds as much of this as it allows; try again later."""


class TooManyFollowers(Busy):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} clients are following runs already (TEKTON_RUNNER_MAX_FOLLOWERS); try again later")
        self.limit = limit


class TooManyLogFollows(ServiceError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} log follows are open, the most this runner holds (TEKTON_RUNNER_LOGS_MAX_FOLLOWS);"
                         " read without follow=1 or try again later")
        self.limit = limit


class LogsNotAvailable(ServiceError):
    """Nothing to read, and why: `status` 404 (not there yet, or never) or 410 (was there, now gone)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class ClusterUnreadable(ServiceError):
    def __init__(self, message: str) -> None:
        super().__init__(f"the Kubernetes API server could not be read: {message}")
