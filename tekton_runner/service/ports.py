"""Whether an external port a run or an app asks for is free for it; called by the runs and apps services."""

from __future__ import annotations

from ..store.ports import PortStore
from .errors import PortTaken
from .probing import ForwardView


async def check_external_port(ports: PortStore, view: ForwardView, workspace: str, app: str,
                              requested: int | None) -> None:
    """Raises PortTaken when the port is mapped to another app, or held by another process on this host."""
    if requested is None:
        return
    owner = next((m for m in await ports.all() if m.port == requested), None)
    if owner is not None and (owner.workspace, owner.app) != (workspace, app):
        raise PortTaken(requested, owner.owner)
    if owner is None and not await view.can_bind(requested):
        raise PortTaken(requested, None)
