"""Step `dependency`: the workspace namespace, a credentials Secret that survives redeploys, redis/postgres."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from ...kube import Kube, NotFound
from ...models.runs import Run, Step
from ...workspaces import dependency_images
from .. import naming
from ..context import ChainContext
from ..runtime.outcomes import StepOutcome
from .common import pull_secrets
from .readiness import unready_deployment

PG_USER = "app"
PG_DATABASE = "app"


def credentials(run: Run, existing: dict[str, str]) -> dict[str, str]:
    """Reuses stored passwords: a new password over an old database volume is a login failure."""
    redis_password = existing.get("REDIS_PASSWORD") or secrets.token_urlsafe(24)
    pg_password = existing.get("PGPASSWORD") or secrets.token_urlsafe(24)
    redis_host = f"{naming.redis_name(run)}.{naming.namespace(run)}.svc"
    pg_host = f"{naming.postgres_name(run)}.{naming.namespace(run)}.svc"
    return {
        "REDIS_HOST": redis_host,
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": redis_password,
        "REDIS_URL": f"redis://:{redis_password}@{redis_host}:6379/0",
        "PGHOST": pg_host,
        "PGPORT": "5432",
        "PGUSER": PG_USER,
        "PGPASSWORD": pg_password,
        "PGDATABASE": PG_DATABASE,
        "DATABASE_URL": f"postgresql://{PG_USER}:{pg_password}@{pg_host}:5432/{PG_DATABASE}",
    }


async def _existing_credentials(kube: Kube, run: Run) -> dict[str, str]:
    try:
        secret = await kube.get("v1", "Secret", naming.secret_name(run), naming.namespace(run))
    except NotFound:
        return {}
    data: dict[str, Any] = secret.get("data") or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items() if isinstance(value, str)}


async def deploy_dependency(ctx: ChainContext, run: Run, step: Step) -> StepOutcome:
    await ctx.access.ensure(run.workspace)  # every run: a namespace deleted by hand comes back
    kube = await ctx.access.kube(run.workspace)
    wanted = run.spec.dependency.type
    if not (wanted.wants_redis or wanted.wants_sql):
        return StepOutcome.skipped("NotRequested", "dependency.type is none")
    namespace = naming.namespace(run)
    data = credentials(run, await _existing_credentials(kube, run))
    for obj in ctx.renderer.render("dependency-secret.yaml.j2", {
        "name": naming.secret_name(run), "namespace": namespace,
        "labels": naming.labels(run, "credentials"),
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }):
        await kube.apply(obj)
    images = dependency_images(ctx.settings.redis_image, ctx.settings.postgres_image,
                               ctx.settings.workspaces.mirror_prefix)
    services = []
    if wanted.wants_redis:
        services.append(("redis.yaml.j2", naming.redis_name(run), "redis", images.redis))
    if wanted.wants_sql:
        services.append(("postgres.yaml.j2", naming.postgres_name(run), "postgres", images.postgres))
    for template, name, component, image in services:
        for obj in ctx.renderer.render(template, {
            "name": name, "namespace": namespace, "labels": naming.labels(run, component),
            "selector": naming.selector(run, component), "image": image,
            "secret": naming.secret_name(run), "pull_secrets": pull_secrets(ctx),
        }):
            await kube.apply(obj)
    waiting = await unready_deployment(kube, namespace, [name for _, name, _, _ in services])
    if waiting is not None:
        return StepOutcome.wait("DependencyNotReady", waiting, delay=ctx.settings.poll_interval)
    names = ", ".join(name for _, name, _, _ in services)
    return StepOutcome.done("Ready", f"{names} ready in {namespace}")
