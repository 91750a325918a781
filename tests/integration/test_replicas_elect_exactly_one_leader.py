"""Replicas competing for the Lease: exactly one leads at any time, it keeps the Lease while it renews,
and a clean stop releases it so another replica leads at once."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeKubeApi
from tests.integration.electing import election


async def test_two_candidates_one_leader_that_keeps_the_lease(fake_kube: FakeKubeApi, tmp_path: Path) -> None:
    async with election(fake_kube, fake_kube.kubeconfig) as running:
        first, second = running.candidate("replica-a"), running.candidate("replica-b")
        await running.until(lambda: first.leading or second.leading)
        leader = first if first.leading else second
        for _ in range(40):  # 80 s of renewals: five lease durations
            await running.step()
            assert [candidate.leading for candidate in (first, second)].count(True) == 1
            assert leader.leading
        lease = running.lease()
        assert lease["holderIdentity"] == leader.elector.terms.identity
        assert lease["leaseTransitions"] == 0
        assert lease["leaseDurationSeconds"] == 15
        assert lease["renewTime"] != lease["acquireTime"]  # renewed, not taken again
        other = second if leader is first else first
        assert other.changes == []


async def test_a_clean_stop_hands_the_lease_over_at_once(fake_kube: FakeKubeApi, tmp_path: Path) -> None:
    async with election(fake_kube, fake_kube.kubeconfig) as running:
        first, second = await running.leader_and_follower()
        await running.stop(first)
        assert [leading for leading, _ in first.changes] == [True, False]
        assert running.lease()["holderIdentity"] == ""  # released
        stopped = running.clock.monotonic()
        await running.until(lambda: second.leading)
        assert second.led_from() <= stopped + 2.0  # its next attempt, not a lease duration later
        assert running.lease()["leaseTransitions"] == 1
