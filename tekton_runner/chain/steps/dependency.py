"""Step `dependency`: the workspace namespace, a credentials Secret that survives redeploys, and one
Deployment + Service per requested kind (models/dependencies.py); waits until each kind is ready."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ...kube import Kube, NotFound
from ...models.dependencies import KINDS, DependencyKind, Readiness
from ...models.runs import Run, Step
from ...workspaces import dependency_images
from .. import naming
from ..context import ChainContext
from ..diagnosis import retry_pulls
from ..runtime.outcomes import StepOutcome
from .common import placement, pull_secrets, requested_kinds
from .readiness import NotReady, not_ready_outcome, redeploy_hint, unready_deployment

# How each readiness rule of the table is read: (kube, namespace, name, pod labels, then) -> None when ready,
# else why not.
READINESS: dict[Readiness, Callable[[Kube, str, str, Mapping[str, str], str], Awaitable[NotReady | None]]] = {
    Readiness.DEPLOYMENT_READY: unready_deployment,
}

NOT_READY = "DependencyNotReady"


def host(run: Run, kind: DependencyKind) -> str:
    return f"{naming.dependency_name(run, kind.name)}.{naming.namespace(run)}.svc"


def credentials(run: Run, existing: dict[str, str]) -> dict[str, str]:
    """The keys of every kind in the table, not only the requested ones, with stored passwords reused: a
    run that leaves a kind out must not drop its password, or a later run would start over an old volume
    with a new one (server-side apply removes keys the applied Secret no longer has)."""
    data: dict[str, str] = {}
    for kind in KINDS.values():
        data.update(kind.credentials_for(host(run, kind), existing))
    return data


async def _existing_credentials(kube: Kube, run: Run) -> dict[str, str]:
    try:
        secret = await kube.get("v1", "Secret", naming.secret_name(run), naming.namespace(run))
    except NotFound:
        return {}
    data: dict[str, Any] = secret.get("data") or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items() if isinstance(value, str)}


async def deploy_dependency(ctx: ChainContext, run: Run, step: Step) -> StepOutcome:
    if step.reason != NOT_READY:  # every run (a namespace deleted by hand comes back), not every readiness read
        await ctx.access.ensure(run.workspace)
    kube = await ctx.access.kube(run.workspace)
    kinds = requested_kinds(run)
    if not kinds:
        return StepOutcome.skipped("NotRequested", "no dependencies requested")
    namespace = naming.namespace(run)
    data = credentials(run, await _existing_credentials(kube, run))
    for obj in ctx.renderer.render("dependency-secret.yaml.j2", {
        "name": naming.secret_name(run), "namespace": namespace,
        "labels": naming.labels(run, "credentials"),
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }):
        await kube.apply(obj)
    images = dependency_images(ctx.settings)
    for kind in kinds:
        for obj in ctx.renderer.render(kind.template, {
            "name": naming.dependency_name(run, kind.name), "namespace": namespace,
            "labels": naming.labels(run, kind.name), "selector": naming.selector(run, kind.name),
            "image": images[kind.name], "port": kind.port, "secret": naming.secret_name(run),
            "pull_secrets": pull_secrets(ctx), **placement(ctx),
        }):
            await kube.apply(obj)
    if step.reason != NOT_READY:  # a new run gives a dependency stuck on a pull a fresh try
        for kind in kinds:
            await retry_pulls(kube, namespace, naming.selector(run, kind.name))
    for kind in kinds:
        waiting = await READINESS[kind.readiness](kube, namespace, naming.dependency_name(run, kind.name),
                                                  naming.selector(run, kind.name), redeploy_hint(run))
        if waiting is not None:
            return not_ready_outcome("Dependency", waiting, reason=NOT_READY, delay=ctx.settings.poll_interval)
    names = ", ".join(naming.dependency_name(run, kind.name) for kind in kinds)
    return StepOutcome.done("Ready", f"{names} ready in {namespace}")
