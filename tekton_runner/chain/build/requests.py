"""Hands a run's build to Tekton: one build request to the EventListener, with a one-time source link."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path

import aiohttp

from ...eventlistener.client import DispatchError, send_build_request
from ...models.ids import packed_upload_id
from ...models.runs import Run, StepName, StepState
from ...models.spec import LocalSource, ZipSource
from ...store.uploads import Upload
from ..context import ChainContext


async def archive_url(ctx: ChainContext, run: Run) -> str:
    """A one-time download URL of the run's source zip; empty for git sources."""
    source = run.spec.source
    archive: Upload | Path
    if isinstance(source, ZipSource):
        upload = await ctx.uploads.get(source.upload_id)
        if upload is None:
            raise DispatchError(f"upload {source.upload_id} no longer exists", temporary=False)
        archive = upload
    elif isinstance(source, LocalSource):
        # Packed into the database where uploads are held there (any replica serves it), else on this host.
        archive = await ctx.uploads.get(packed_upload_id(run.id)) or ctx.settings.packed_source(run.id)
    else:
        return ""
    token = await ctx.uploads.issue_token(run.id, archive)
    return f"{ctx.settings.base_url}/sources/archive/{token}"


class Sent(Enum):
    """What one attempt to hand a build to Tekton came to."""

    ACCEPTED = "accepted"
    RETRY = "retry"  # the EventListener could not take it now; the run stays pending
    FAILED = "failed"


async def dispatch(ctx: ChainContext, session: aiohttp.ClientSession, run: Run, *, first_attempt: datetime,
                   ahead: int = 0) -> Sent:
    """One attempt to hand the build to Tekton; a temporary failure leaves the run pending until
    `dispatch_deadline` after `first_attempt`. `ahead`: accepted requests still waiting for their TaskRuns."""
    try:
        accepted = await send_build_request(
            session, ctx.settings.eventlistener_url, run, archive_url=await archive_url(ctx, run)
        )
    except DispatchError as error:
        expired = ctx.clock.now() - first_attempt > timedelta(seconds=ctx.settings.dispatch_deadline)
        if error.temporary and not expired:
            ctx.metrics.dispatch_total.labels("retry").inc()
            await ctx.status.build_requeued(run.id, reason="EventListenerUnavailable", message=f"{error}; will retry")
            return Sent.RETRY
        ctx.metrics.dispatch_total.labels("failed").inc()
        reason = "EventListenerUnavailable" if error.temporary else "BuildRequestRejected"
        await ctx.status.build_failed(run, reason=reason, message=str(error))
        return Sent.FAILED
    ctx.metrics.dispatch_total.labels("accepted").inc()
    queued = f"; queued behind {ahead} build requests at the EventListener" if ahead else ""
    build = run.step(StepName.BUILD).model_copy(update={
        "state": StepState.RUNNING, "reason": "Accepted", "started_at": ctx.clock.now(), "attempts": 1,
        "message": f"EventListener accepted the request (eventID {accepted.event_id}){queued}",
    })
    await ctx.status.build_accepted(run.id, accepted.event_id, build)
    return Sent.ACCEPTED
