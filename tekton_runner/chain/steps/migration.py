"""Step `migration`: a Job from the built image that must complete before the app is applied.

The Job gets the env of every requested dependency kind, as the app does: a migration may create queues
or seed a cache as well as change the database schema (it needs a database kind to be enabled at all)."""

from __future__ import annotations

from typing import Any

from ...kube import Kube, KubeError, KubeObject
from ...models.runs import Run, Step
from .. import naming
from ..context import ChainContext
from ..diagnosis import diagnose, log_tail
from ..runtime.outcomes import PermanentError, StepOutcome
from .common import dependency_env, placement, pull_secrets
from .readiness import NotReady, not_ready_outcome, redeploy_hint

JOB_NAME_LABEL = "job-name"  # the Job controller labels the pods it makes with their Job's name
MIGRATE_CONTAINER = "migrate"  # manifests/migration-job.yaml.j2


def _condition(job: KubeObject, kind: str) -> dict[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


async def _failure_detail(kube: Kube, namespace: str, name: str) -> str:
    """The last lines of the migration pod's log, when the cluster still has them."""
    hint = f"logs: kubectl logs -n {namespace} job/{name}"
    try:
        pods = await kube.list("v1", "Pod", namespace=namespace, labels={JOB_NAME_LABEL: name})
    except KubeError:
        return hint
    lines = await log_tail(kube, namespace, pods[-1]["metadata"]["name"], MIGRATE_CONTAINER) if pods else None
    return f"{hint}; last lines:\n{lines}" if lines else hint


async def run_migration(ctx: ChainContext, run: Run, step: Step) -> StepOutcome:
    if not run.spec.migration.enabled:
        return StepOutcome.skipped("NotRequested", "migration.enabled is false")
    namespace, name = naming.namespace(run), naming.migration_name(run)
    kube = await ctx.access.kube(run.workspace)
    for obj in ctx.renderer.render("migration-job.yaml.j2", {
        "name": name, "namespace": namespace, "labels": naming.labels(run, "migration"),
        "image": run.pinned_image, "command": list(run.spec.migration.command),
        "env": dependency_env(run), "pull_secrets": pull_secrets(ctx), **placement(ctx),
    }):
        await kube.apply(obj)
    job = await kube.get("batch/v1", "Job", name, namespace)
    if _condition(job, "Complete") or int((job.get("status") or {}).get("succeeded", 0)) > 0:
        return StepOutcome.done("Completed", f"Job {namespace}/{name} completed")
    failed = _condition(job, "Failed")
    if failed:
        detail = await _failure_detail(kube, namespace, name)
        raise PermanentError(
            f"Job {namespace}/{name} failed: {failed.get('reason', '')} {failed.get('message', '')}; {detail}",
            reason="MigrationFailed",
        )
    # A Job whose pod cannot pull its image or start never fails by itself: its pod says why.
    diagnosis = await diagnose(kube, namespace, {JOB_NAME_LABEL: name}, then=redeploy_hint(run))
    message = f"Job {namespace}/{name} has not finished" + (f"; {diagnosis.message}" if diagnosis else "")
    return not_ready_outcome("Migration", NotReady(message, diagnosis), reason="MigrationRunning",
                             delay=ctx.settings.poll_interval, timeout_reason="MigrationTimeout")
