"""Registers apps for git pushes: applies their webhook Trigger on the build cluster, then stores them."""

from __future__ import annotations

from ...models import images
from ...models.apps import TRIGGER_PREFIX, AppRegistration, RegisteredApp
from ..context import ChainContext


def default_repository(ctx: ChainContext, registration: AppRegistration) -> str:
    if registration.image.repository:
        return registration.image.repository
    return images.default_repository(ctx.settings.registry, registration.workspace, registration.app.name)


async def register(ctx: ChainContext, registration: AppRegistration) -> tuple[RegisteredApp, bool]:
    """Applies Trigger tekton-runner-app-<id> (server-side apply, so re-registering updates it) and stores
    the app; the Trigger goes first so a stored app always has one."""
    repository = images.image_repository(default_repository(ctx, registration))
    for obj in ctx.renderer.render("webhook-trigger.yaml.j2", {
        "app_id": registration.app_id,
        "namespace": ctx.settings.build_namespace,
        "eventlistener": ctx.settings.eventlistener_name,
        "workspace": registration.workspace,
        "app": registration.app.name,
        "git_url": registration.source.url,
        "branch": registration.source.branch,
        "context_dir": registration.source.context,
        "dockerfile": registration.source.dockerfile,
        "image_repository": repository,
        "webhook_secret_name": registration.webhook.name,
        "webhook_secret_key": registration.webhook.key,
    }):
        await ctx.kube.apply(obj)
    return await ctx.apps.save(registration, repository)


async def unregister(ctx: ChainContext, app_id: str) -> bool:
    """Deletes the Trigger (gone already is fine) and forgets the app; False if it was not registered."""
    await ctx.kube.delete("triggers.tekton.dev/v1beta1", "Trigger", TRIGGER_PREFIX + app_id,
                          ctx.settings.build_namespace)
    return await ctx.apps.delete(app_id)
