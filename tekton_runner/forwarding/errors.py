"""Error types of the forwarding package; the HTTP layer maps them to status codes (409, 404...)."""

from __future__ import annotations


class ForwardError(Exception):
    """Base class: anything the forwarding package raises on purpose."""


class PortUnavailable(ForwardError):
    """The listen port is already bound, by another mapping or by another process (answer 409)."""

    def __init__(self, host: str, port: int, holder: str | None = None) -> None:
        self.host = host
        self.port = port
        self.holder = holder
        who = f"mapping {holder!r}" if holder else "another process"
        super().__init__(f"port {host}:{port} is already in use by {who}")


class ListenFailed(ForwardError):
    """Binding the listener failed for a reason other than the port being taken (no such address...)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


class MappingExists(ForwardError):
    """open() was called with a mapping id that is already open; use retarget() to move it."""

    def __init__(self, mapping_id: str) -> None:
        self.mapping_id = mapping_id
        super().__init__(f"mapping {mapping_id!r} is already open")


class MappingNotFound(ForwardError, LookupError):
    """No open mapping has this id."""

    def __init__(self, mapping_id: str) -> None:
        self.mapping_id = mapping_id
        super().__init__(f"no open mapping {mapping_id!r}")


class IdleTimeout(ForwardError):
    """A relayed connection moved no byte in either direction for longer than the idle timeout."""
