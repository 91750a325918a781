"""Several runner replicas in one test: one fake API server, one EventListener, one database (the SQLite file,
or a PostgreSQL database when the test runs on both backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tekton_runner.app import CONTEXT
from tekton_runner.chain.runtime.leadership import Leadership
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run
from tests.integration.harness import Harness, spec

RUNNER_NS = "tekton-runner"
# Real time: a follower tries every 0.2 s (a released Lease moves at once), and a leader keeps leading
# through 40 s without a renewal, so a loaded machine never makes leadership move on its own in a test.
ELECTION: dict[str, Any] = {
    "leader_election": True, "lease_duration": 60.0, "lease_renew_deadline": 40.0, "lease_retry_period": 0.2,
    "handover_seconds": 0.02, "resync_seconds": 3600.0,
}


async def replicas(first: Harness, count: int) -> list[Harness]:
    """`first` restarted with election on, and count-1 more on its database; the first one leads."""
    first.fake.add_namespace(RUNNER_NS)
    await first.stop()
    first.resync = True
    await first.start(lease_identity="replica-0", **ELECTION)
    await leadership(first).wait(True)
    others = []
    for number in range(1, count):
        other = Harness(first.fake, first.listener, first.controllers, first.settings, resync=True)
        await other.start(lease_identity=f"replica-{number}")
        others.append(other)
    return [first, *others]


def leadership(replica: Harness) -> Leadership:
    return replica.orchestrator.leadership


async def until_run(replica: Harness, run_id: str, done: Callable[[Run], bool]) -> Run:
    """The run as this replica reads it once `done` holds; woken by each transition the replica sees."""
    ctx = replica.http.app[CONTEXT]
    with ctx.status.hub.wakeups() as wakeup:
        while True:
            wakeup.clear()
            run = await ctx.runs.get(RunId(run_id))
            if done(run):
                return run
            await wakeup.wait()


async def run_resting_at_its_app_step(harness: Harness) -> tuple[Harness, Harness, str]:
    """A leader, a follower and a run whose chain rests on the leader at the app step (its Deployment never
    gets ready, and waits rest for an hour): (leader, follower, run id)."""
    harness.settings = harness.settings.model_copy(update={"poll_interval": 3600.0})
    leader, follower = await replicas(harness, 2)
    harness.controllers.unready.add("shop")
    run_id = (await leader.post_run(spec()))["run_id"]
    await leader.send_event(leader.finish_taskrun(run_id), "successful")
    await until_run(leader, run_id, lambda run: any(step.due_at for step in run.steps))
    return leader, follower, run_id
