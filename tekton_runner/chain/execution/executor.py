"""Runs one step with the retry policy: temporary errors back off, permanent ones fail the step."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ...kube import KubeError
from ...models.clock import Clock
from ...models.runs import Run, Step
from ...workspaces import WorkspaceError
from ..runtime.outcomes import PermanentError, StepOutcome, TemporaryError
from ..runtime.retry import RetryPolicy
from ..status.writer import Recorder

log = logging.getLogger("tekton_runner.chain")
StepFunction = Callable[[Run, Step], Awaitable[StepOutcome]]


async def execute(
    run: Run, step: Step, function: StepFunction, *, recorder: Recorder, policy: RetryPolicy, clock: Clock,
) -> Step:
    """Calls `function` until it returns, fails permanently or runs out of attempts; records the end."""
    attempt = 0
    while True:
        attempt += 1
        try:
            outcome = await function(run, step)
        except PermanentError as error:
            outcome = StepOutcome.failed(error.reason, error.message)
        except (TemporaryError, KubeError, WorkspaceError) as error:
            temporary = isinstance(error, TemporaryError) or error.temporary
            reason = _kube_reason(error) if isinstance(error, KubeError) else (error.reason or "Workspace")
            if not temporary:
                outcome = StepOutcome.failed(reason, error.message)
            elif attempt >= policy.attempts:
                outcome = StepOutcome.failed(reason, f"gave up after {attempt} attempts: {error.message}")
            else:
                delay = policy.delay(attempt, error.delay if isinstance(error, TemporaryError) else error.retry_after)

                log.info("run %s: %s attempt %d: %s; retrying in %.1fs", run.id, step.name, attempt,
                         error.message, delay)
                step = await recorder.step_progress(run.id, step, reason=reason, message=(
                    f"attempt {attempt} failed: {error.message}; retrying"))
                await clock.sleep(delay)
                continue
        return await recorder.step_ended(run.id, step, outcome)


def _kube_reason(error: KubeError) -> str:
    if error.reason:
        return f"KubernetesAPI{error.reason}"
    return f"KubernetesAPI{error.status or 'Unreachable'}"
