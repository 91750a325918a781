"""Step `app`: the app Deployment (pinned to the built digest) and its NodePort Service."""

from __future__ import annotations

from typing import Any

from ...models.runs import Run, Step
from ...models.taskruns import RUN_ID_LABEL
from .. import naming
from ..context import ChainContext
from ..runtime.outcomes import StepOutcome
from .common import dependency_env, placement, pull_secrets
from .readiness import not_ready_outcome, redeploy_hint, unready_deployment


def app_env(run: Run) -> list[dict[str, Any]]:
    # Kubernetes expands $(NAME) inside env values; a user's literal "$(" must stay literal.
    env: list[dict[str, Any]] = [
        {"name": key, "value": value.replace("$(", "$$(")}
        for key, value in sorted(run.spec.app.env.items())
    ]
    return env + dependency_env(run)


async def deploy_app(ctx: ChainContext, run: Run, step: Step) -> StepOutcome:
    namespace = naming.namespace(run)
    kube = await ctx.access.kube(run.workspace)
    selector = naming.selector(run, "app")
    for obj in ctx.renderer.render("app.yaml.j2", {
        "name": run.app, "namespace": namespace, "labels": naming.labels(run, "app"),
        "selector": selector, "pod_labels": {**selector, **naming.labels(run, "app")},
        "image": run.pinned_image, "replicas": run.spec.app.replicas, "port": run.spec.app.port,
        "env": app_env(run), "pull_secrets": pull_secrets(ctx), **placement(ctx),
    }):
        await kube.apply(obj)
    # Only this run's pods: a redeploy after a failure must not be judged by the failed run's pods.
    pods = {RUN_ID_LABEL: run.id, **naming.selector(run, "app")}
    waiting = await unready_deployment(kube, namespace, run.app, pods, then=redeploy_hint(run))
    if waiting is not None:
        return not_ready_outcome("App", waiting, reason="AppNotReady", delay=ctx.settings.poll_interval)
    return StepOutcome.done("Ready", f"Deployment {namespace}/{run.app} ready with {run.pinned_image}")
