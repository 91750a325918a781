"""What one pass of a step ends in, and the two failure kinds a step may raise; decided on by the executor.

A step applies its objects, reads the cluster once and returns an outcome: done, skipped, failed, or
waiting (the cluster is not there yet: look again after `delay` seconds). It never sleeps itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...models.runs import StepState


class TemporaryError(Exception):
    """Worth retrying after `delay` seconds (or the back-off's own delay when None)."""

    def __init__(self, message: str, *, reason: str = "Temporary", delay: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.delay = delay


class PermanentError(Exception):
    """Retrying cannot help: the step fails with this reason and message."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class StepOutcome:
    state: StepState  # RUNNING for a step that waits
    reason: str = ""
    message: str = ""
    delay: float | None = None  # waiting only: seconds until the step is looked at again
    timeout_reason: str | None = None  # waiting only: the failure reason once the step waited too long

    @property
    def waiting(self) -> bool:
        return self.state is StepState.RUNNING

    @classmethod
    def done(cls, reason: str, message: str = "") -> StepOutcome:
        return cls(StepState.SUCCEEDED, reason, message)

    @classmethod
    def skipped(cls, reason: str, message: str = "") -> StepOutcome:
        return cls(StepState.SKIPPED, reason, message)

    @classmethod
    def failed(cls, reason: str, message: str) -> StepOutcome:
        return cls(StepState.FAILED, reason, message)

    @classmethod
    def wait(cls, reason: str, message: str, *, delay: float, timeout_reason: str | None = None) -> StepOutcome:
        """Not there yet (a Deployment not ready, a Job running): the executor persists when to look again."""
        return cls(StepState.RUNNING, reason, message, delay=delay, timeout_reason=timeout_reason)
