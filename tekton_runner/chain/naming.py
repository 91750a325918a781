"""Deterministic object names and labels of a run's objects (docs/contracts.md)."""

from __future__ import annotations

from ..models.ids import workspace_namespace
from ..models.runs import Run
from ..models.taskruns import APP_LABEL, MANAGED_BY_LABEL, MANAGER, RUN_ID_LABEL, WORKSPACE_LABEL


def namespace(run: Run) -> str:
    return workspace_namespace(run.workspace)


def secret_name(run: Run) -> str:
    return f"{run.app}-deps"


def dependency_name(run: Run, kind: str) -> str:
    """The Deployment and Service of one dependency kind: `<app>-redis`, `<app>-postgres`, `<app>-rabbitmq`."""
    return f"{run.app}-{kind}"


def migration_name(run: Run) -> str:
    # Job names become a 63-character label value; 8 hex digits of the run id keep it short and unique.
    return f"{run.app}-migrate-{run.id.removeprefix('r-')[:8]}"


def labels(run: Run, component: str) -> dict[str, str]:
    return {
        RUN_ID_LABEL: run.id,
        WORKSPACE_LABEL: run.workspace,
        APP_LABEL: run.app,
        MANAGED_BY_LABEL: MANAGER,
        "app.kubernetes.io/component": component,
    }


def selector(run: Run, component: str) -> dict[str, str]:
    """Stable across runs, so a redeploy replaces the same pods rather than adding a second set."""
    return {APP_LABEL: run.app, "app.kubernetes.io/component": component}
