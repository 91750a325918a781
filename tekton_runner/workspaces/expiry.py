"""The idle-TTL policy: which workspaces have gone unused long enough to remove; called by the resync loop."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class WorkspaceActivity:
    """What the policy needs to know about one workspace.

    `last_activity` is the latest start or end of any of its runs, or when it was provisioned; None when
    nothing is known, which never counts as idle. `active_runs` counts runs not yet finished.
    """

    workspace: str
    last_activity: datetime | None
    active_runs: int = 0


def expired_workspaces(
    activity: Iterable[WorkspaceActivity], *, now: datetime, ttl: timedelta | None,
    pinned: Collection[str] = (),
) -> list[str]:
    """Names (sorted) idle for at least `ttl` at `now`; none when `ttl` is None.

    A workspace with a run in flight, a pinned one, or one whose activity is unknown is never expired.
    Datetimes must be timezone-aware: a naive one would silently compare as local time.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if ttl is None:
        return []
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    busy: set[str] = set()
    latest: dict[str, datetime | None] = {}
    for item in activity:  # a workspace may be reported more than once: the latest and busiest entry wins
        if item.last_activity is not None and item.last_activity.tzinfo is None:
            raise ValueError(f"last_activity of {item.workspace} must be timezone-aware")
        if item.active_runs > 0:
            busy.add(item.workspace)
        latest[item.workspace] = latest_activity([latest.get(item.workspace), item.last_activity])
    return sorted(
        name for name, last in latest.items()
        if name not in busy and name not in pinned and last is not None and now - last >= ttl
    )

def latest_activity(times: Iterable[datetime | None]) -> datetime | None:
    """The latest of a workspace's run timestamps (created, started, finished), ignoring unknown ones."""
    known = [time for time in times if time is not None]
    return max(known) if known else None
