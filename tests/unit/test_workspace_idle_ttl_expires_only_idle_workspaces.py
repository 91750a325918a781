"""The idle-TTL policy: only workspaces idle for the TTL, never busy, pinned or unknown ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tekton_runner.workspaces.expiry import WorkspaceActivity, expired_workspaces, latest_activity

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=4)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_idle_for_the_ttl_or_longer_expires() -> None:
    activity = [
        WorkspaceActivity("old", ago(hours=5)),
        WorkspaceActivity("exactly", ago(hours=4)),
        WorkspaceActivity("recent", ago(hours=3, minutes=59)),
    ]
    assert expired_workspaces(activity, now=NOW, ttl=TTL) == ["exactly", "old"]


def test_no_ttl_means_nothing_expires() -> None:
    assert expired_workspaces([WorkspaceActivity("old", ago(days=300))], now=NOW, ttl=None) == []


def test_a_workspace_with_a_run_in_flight_is_kept() -> None:
    assert expired_workspaces([WorkspaceActivity("busy", ago(days=2), active_runs=1)], now=NOW, ttl=TTL) == []


def test_pinned_and_unknown_workspaces_are_kept() -> None:
    activity = [WorkspaceActivity("demo", ago(days=9)), WorkspaceActivity("mystery", None)]
    assert expired_workspaces(activity, now=NOW, ttl=TTL, pinned={"demo"}) == []


def test_the_latest_and_busiest_report_of_a_workspace_wins() -> None:
    activity = [
        WorkspaceActivity("a", ago(days=3)), WorkspaceActivity("a", ago(minutes=5)),
        WorkspaceActivity("b", ago(days=3)), WorkspaceActivity("b", ago(days=3), active_runs=2),
        WorkspaceActivity("c", None), WorkspaceActivity("c", ago(days=1)),
    ]
    assert expired_workspaces(activity, now=NOW, ttl=TTL) == ["c"]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expired_workspaces([], now=datetime(2026, 1, 1), ttl=TTL)
    with pytest.raises(ValueError, match="timezone-aware"):
        expired_workspaces([WorkspaceActivity("a", datetime(2026, 1, 1))], now=NOW, ttl=TTL)


def test_a_non_positive_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        expired_workspaces([], now=NOW, ttl=timedelta(0))


def test_latest_activity_ignores_unknown_times() -> None:
    assert latest_activity([None, ago(hours=2), ago(hours=1), None]) == ago(hours=1)
    assert latest_activity([None]) is None
