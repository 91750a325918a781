"""A leader whose renewals fail stops leading when its renew deadline passes, before any other replica
may take the Lease; a leader that stops renewing without releasing (killed) loses it within its duration."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeKubeApi
from tests.integration.electing import DURATION, RENEW_DEADLINE, RETRY, election

LEASE_WRITES = r"/leases/tekton-runner$"


async def test_failing_renewals_end_leadership_before_the_lease_expires(
    fake_kube: FakeKubeApi, tmp_path: Path,
) -> None:
    async with election(fake_kube, fake_kube.kubeconfig) as running:
        first, second = await running.leader_and_follower()
        fault = fake_kube.fail(method="PUT", path_regex=LEASE_WRITES, status=500, times=None)
        last_renewal = running.clock.monotonic()  # the renewal before the fault was the last one
        await running.until(lambda: not first.leading)
        stepped_down = first.stopped_at()
        assert stepped_down <= last_renewal + RENEW_DEADLINE < last_renewal + DURATION
        assert not second.leading and second.changes == []
        await running.stop(first)  # gone for good: the Lease still names it, and only expiry frees it
        fake_kube.faults.faults.remove(fault)
        await running.until(lambda: second.leading)
        assert second.led_from() >= last_renewal + DURATION  # never while the old term could still run
        assert running.lease()["holderIdentity"] == "replica-b"

async def test_a_killed_leaders_lease_is_taken_within_its_duration(fake_kube: FakeKubeApi, tmp_path: Path) -> None:
    async with election(fake_kube, fake_kube.kubeconfig) as running:
        first, second = await running.leader_and_follower()
        renewed = running.clock.monotonic()
        fake_kube.fail(method="PUT", path_regex=LEASE_WRITES, status=503, times=1)  # its release never lands
        await running.stop(first)
        assert running.lease()["holderIdentity"] == "replica-a"
        await running.until(lambda: second.leading)
        # Seen renewed at most one retry period after the renewal, taken at the first attempt after expiry.
        assert second.led_from() <= renewed + DURATION + 2 * RETRY
        lease = running.lease()
        assert lease["holderIdentity"] == "replica-b"
        assert lease["leaseTransitions"] == 1
