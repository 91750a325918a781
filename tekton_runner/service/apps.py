"""Apps deployed on every push to a branch: registered, listed, read and unregistered; called by handlers/apps.py."""

from __future__ import annotations

from ..chain.context import ChainContext
from ..chain.lifecycle.registration import register, unregister
from ..kube import KubeError
from ..models.apps import AppRegistration, RegisteredApp
from .errors import AppNotFound, TriggerNotApplied, TriggerNotDeleted
from .ports import check_external_port
from .probing import ForwardView


class Apps:
    def __init__(self, ctx: ChainContext, forward_view: ForwardView) -> None:
        self._ctx = ctx
        self._view = forward_view

    async def register_app(self, registration: AppRegistration) -> tuple[RegisteredApp, bool]:
        """Applies the app's webhook Trigger and stores it; True when new, False when it replaced one.

        Raises PortTaken for a requested external port that is not free, TriggerNotApplied when the
        build cluster refuses the Trigger."""
        await check_external_port(self._ctx.ports, self._view, registration.workspace, registration.app.name,
                                  registration.expose.external_port)
        try:
            return await register(self._ctx, registration)
        except KubeError as error:
            raise TriggerNotApplied(error.message) from error

    async def apps(self) -> list[RegisteredApp]:
        return await self._ctx.apps.all()

    async def app(self, app_id: str) -> RegisteredApp:
        app = await self._ctx.apps.get(app_id)
        if app is None:
            raise AppNotFound(app_id)
        return app

    async def unregister_app(self, app_id: str) -> None:
        """Deletes the app's Trigger and forgets it; AppNotFound, or TriggerNotDeleted when the cluster refuses."""
        await self.app(app_id)
        try:
            await unregister(self._ctx, app_id)
        except KubeError as error:
            raise TriggerNotDeleted(error.message) from error
