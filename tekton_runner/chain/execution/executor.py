"""Runs one pass of one step and turns whatever happened into a recorded outcome.

Every exception ends up as an outcome: temporary errors (and ones nobody expected) are retried under the
retry budget, with the attempt count and the next due time stored on the step row; permanent ones fail
the step. A waiting step gets its due time stored too, and fails once it has waited `timeout` seconds
since it started. Nothing here sleeps: the caller frees its slot and comes back at the due time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from ...kube import KubeError
from ...models.clock import Clock
from ...models.runs import Run, Step
from ...workspaces import WorkspaceError
from ..runtime.outcomes import PermanentError, StepOutcome, TemporaryError
from ..runtime.retry import RetryPolicy
from ..status.writer import StatusWriter

log = logging.getLogger("tekton_runner.chain")
StepFunction = Callable[[Run, Step], Awaitable[StepOutcome]]
INTERNAL_ERROR = "InternalError"


@dataclass(frozen=True)
class _Retry:
    """A failed attempt worth repeating."""

    kind: str  # the error-kind label: temporary, kube, workspace or internal
    reason: str
    message: str
    delay: float | None


async def advance(
    run: Run, step: Step, function: StepFunction, *, writer: StatusWriter, policy: RetryPolicy, clock: Clock,
    timeout: float,
) -> Step:
    """One pass of `step` (already started); returns the step as stored afterwards.

    Its state is then SUCCEEDED, SKIPPED or FAILED, or still RUNNING with `due_at` set: look again then.
    """
    result = await _attempt(run, step, function)
    if isinstance(result, _Retry):
        writer.count_error(step.name, result.kind)
        if step.attempts >= policy.attempts:
            message = f"gave up after {step.attempts} attempts: {result.message}"
            return await writer.step_ended(run.id, step, StepOutcome.failed(result.reason, message))
        delay = policy.delay(step.attempts, result.delay)
        log.info("run %s: %s attempt %d: %s; retrying in %.1fs", run.id, step.name, step.attempts,
                 result.message, delay)
        return await writer.step_retrying(run.id, step, reason=result.reason, due_at=clock.now() + _span(delay),
                                          message=f"attempt {step.attempts} failed: {result.message}; retrying")
    if result.waiting:
        started = step.started_at or clock.now()
        if clock.now() - started >= _span(timeout):
            failed = StepOutcome.failed(result.timeout_reason or result.reason,
                                        f"not ready after {timeout:.0f}s: {result.message}")
            return await writer.step_ended(run.id, step, failed)
        return await writer.step_waiting(run.id, step, reason=result.reason, message=result.message,
                                         due_at=clock.now() + _span(result.delay or 0.0))
    return await writer.step_ended(run.id, step, result)


async def _attempt(run: Run, step: Step, function: StepFunction) -> StepOutcome | _Retry:
    try:
        return await function(run, step)
    except PermanentError as error:
        return StepOutcome.failed(error.reason, error.message)
    except TemporaryError as error:
        return _Retry("temporary", error.reason, error.message, error.delay)
    except KubeError as error:
        if not error.temporary:
            return StepOutcome.failed(_kube_reason(error), error.message)
        return _Retry("kube", _kube_reason(error), error.message, error.retry_after)
    except WorkspaceError as error:
        reason = error.reason or "Workspace"
        if not error.temporary:
            return StepOutcome.failed(reason, error.message)
        return _Retry("workspace", reason, error.message, None)
    except Exception as error:  # a bug or a case nobody foresaw: retried, then the step fails visibly
        log.exception("run %s: %s raised an unexpected error", run.id, step.name)
        return _Retry("internal", INTERNAL_ERROR, f"{type(error).__name__}: {error}", None)


def _span(seconds: float) -> timedelta:
    return timedelta(seconds=max(seconds, 0.0))


def _kube_reason(error: KubeError) -> str:
    if error.reason:
        return f"KubernetesAPI{error.reason}"
    return f"KubernetesAPI{error.status or 'Unreachable'}"
