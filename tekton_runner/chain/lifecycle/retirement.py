"""Removes whole workspaces: on request (DELETE /workspaces/{name}) and when idle past the TTL."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ...models.runs import RunState
from ...workspaces import WorkspaceActivity, expired_workspaces
from ..context import ChainContext

log = logging.getLogger("tekton_runner.workspaces")

# The reason of runs ended because their workspace was removed (their objects went with it).
WORKSPACE_DELETED = "WorkspaceDeleted"


async def retire(ctx: ChainContext, workspace: str) -> dict[str, object]:
    """Ends the workspace's live runs, frees its ports and removes it (namespace or kind cluster)."""
    ended = []
    remaining = tuple(state for state in RunState if state is not RunState.DELETED)
    for run in await ctx.runs.list(states=remaining, workspace=workspace, limit=100_000):
        # Finished runs too: their objects are gone with the workspace, and the TTL must not see them again.
        removed = f"workspace {workspace} was removed"
        if await ctx.status.run_deleted(run.id, reason=WORKSPACE_DELETED, message=removed):
            ended.append(run.id)
    released = await ctx.ports.release(workspace=workspace)
    for mapping in released:
        await ctx.forwarder.withdraw(mapping.port)
    await ctx.access.provisioner.remove(workspace)
    await ctx.access.forget(workspace)
    log.info("workspace %s removed (%d runs ended, %d ports freed)", workspace, len(ended), len(released))
    return {"workspace": workspace, "runs_ended": ended, "ports_released": [m.port for m in released]}


async def activity(ctx: ChainContext) -> list[WorkspaceActivity]:
    """The latest run change per workspace, and how many of its runs are still live (one row each)."""
    return [WorkspaceActivity(row.workspace, row.latest, row.live) for row in await ctx.runs.workspace_activity()]


async def expire_idle(ctx: ChainContext, *, now: datetime | None = None) -> list[str]:
    """Removes workspaces idle for the configured TTL at `now` (default: the current time)."""
    ttl_seconds = ctx.settings.workspaces.idle_ttl
    if ttl_seconds is None:
        return []
    expired = expired_workspaces(await activity(ctx), now=now or ctx.clock.now(), ttl=timedelta(seconds=ttl_seconds),
                                 pinned=ctx.settings.workspaces.pinned)
    for workspace in expired:
        await retire(ctx, workspace)
    return expired
