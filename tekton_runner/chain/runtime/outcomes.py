"""Step outcomes and the two failure kinds every step raises; decided on in executing.py only."""

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
    state: StepState
    reason: str = ""
    message: str = ""

    @classmethod
    def done(cls, reason: str, message: str = "") -> StepOutcome:
        return cls(StepState.SUCCEEDED, reason, message)

    @classmethod
    def skipped(cls, reason: str, message: str = "") -> StepOutcome:
        return cls(StepState.SKIPPED, reason, message)

    @classmethod
    def failed(cls, reason: str, message: str) -> StepOutcome:
        return cls(StepState.FAILED, reason, message)
