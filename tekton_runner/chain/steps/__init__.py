"""The chain's steps, one module per `StepName`; each applies its objects and reports an outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ...models.runs import Run, Step, StepName
from ..context import ChainContext
from ..runtime.outcomes import StepOutcome
from .app import deploy_app
from .dependency import deploy_dependency
from .forward import expose
from .migration import run_migration

StepImpl = Callable[[ChainContext, Run, Step], Awaitable[StepOutcome]]

STEPS: dict[StepName, StepImpl] = {
    StepName.DEPENDENCY: deploy_dependency,
    StepName.MIGRATION: run_migration,
    StepName.APP: deploy_app,
    StepName.FORWARD: expose,
}
