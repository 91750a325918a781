"""Mapping counters keep the bytes of finished connections and add the live ones into frozen snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from tekton_runner.forwarding import Address, MappingId, MappingState
from tekton_runner.forwarding.stats import MappingCounters


def test_snapshot_sums_finished_and_live_connections() -> None:
    counters = MappingCounters()
    first = counters.opened()
    first.to_target += 100
    first.to_client += 1000
    counters.closed(first)
    live = counters.opened()
    live.to_target += 5
    counters.failed("connect to 127.0.0.1:1: Connection refused", connect=True)

    snap = counters.snapshot(MappingId("m"), MappingState.LISTENING, Address("", 1), Address("h", 2), "splice")
    assert (snap.bytes_to_target, snap.bytes_to_client) == (105, 1000)
    assert (snap.connections_total, snap.connections_active, snap.connect_failures) == (2, 1, 1)
    assert snap.last_error == "connect to 127.0.0.1:1: Connection refused"
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.bytes_to_target = 0  # type: ignore[misc]
