"""Any replica answers the API and records Tekton's events; only the leader dispatches builds and runs
chains, and what a follower received reaches it through the database."""

from __future__ import annotations

from tekton_runner.models.runs import RunState, StepName
from tests.databases import both_backends
from tests.integration.harness import Harness, spec
from tests.integration.replicas import leadership, replicas, run_resting_at_its_app_step, until_run

pytestmark = both_backends  # replicas on one SQLite file (one host) and on one PostgreSQL


async def test_a_run_and_its_event_sent_to_a_follower_are_carried_out_by_the_leader(harness: Harness) -> None:
    leader, follower = await replicas(harness, 2)
    try:
        assert (await (await leader.http.get("/healthz")).json())["role"] == "leader"
        assert (await (await follower.http.get("/healthz")).json())["role"] == "follower"
        assert leader.registry.get_sample_value("tekton_runner_leader") == 1
        assert follower.registry.get_sample_value("tekton_runner_leader") == 0

        run = await follower.post_run(spec())
        assert run["state"] == "pending"  # stored; the follower sends nothing to Tekton
        await until_run(leader, run["run_id"], lambda found: found.state is RunState.BUILDING)
        assert len(harness.listener.received) == 1

        response = await follower.send_event(leader.finish_taskrun(run["run_id"]), "successful")
        assert response.status == 202
        done = await until_run(leader, run["run_id"], lambda found: found.state.terminal)
        assert done.state is RunState.SUCCEEDED, done
        assert len(harness.fake.applies("Deployment", "shop")) == 1
        assert len(harness.fake.applies("Job")) == 1
        assert len(harness.listener.received) == 1
        assert (await follower.run(run["run_id"]))["state"] == "succeeded"
    finally:
        await follower.stop()


async def test_a_chain_interrupted_by_a_change_of_leader_resumes_on_the_new_one(harness: Harness) -> None:
    first, second = await replicas(harness, 2)
    try:
        harness.controllers.unready.add("shop")  # the app step waits for readiness on the first leader
        run_id = (await first.post_run(spec()))["run_id"]
        await first.send_event(first.finish_taskrun(run_id), "successful")
        # applied, read once and resting until its next look: the Deployment exists on the first leader
        await until_run(first, run_id, lambda run: run.step(StepName.APP).due_at is not None)
        await first.stop()  # a clean stop: its chain is cancelled, then the Lease is released
        await leadership(second).wait(True)
        assert second.registry.get_sample_value("tekton_runner_leader_transitions_total", {"change": "gained"}) == 1

        harness.controllers.unready.discard("shop")
        harness.controllers.mark_deployment_ready("ws-demo", "shop")
        done = await until_run(second, run_id, lambda run: run.state.terminal)
        assert done.state is RunState.SUCCEEDED, done
        assert len(harness.listener.received) == 1  # one build request
        assert len(harness.fake.applies("Job")) == 1  # the migration ran once: resumed after it, at the app step
        assert len(harness.fake.objects("taskruns")) == 1
    finally:
        await second.stop()


async def test_a_run_deleted_through_a_follower_stops_the_leaders_chain(harness: Harness) -> None:
    leader, follower, run_id = await run_resting_at_its_app_step(harness)
    try:
        assert leader.orchestrator.scheduler.active(f"chain:{run_id}")

        assert (await follower.http.delete(f"/runs/{run_id}")).status == 200  # the follower removes the objects
        assert harness.fake.get_object("deployments", "shop", "ws-demo") is None
        # Resting for an hour, the chain ends only when the leader reads the deletion and cancels it.
        await leader.orchestrator.scheduler.join(f"chain:{run_id}")
        assert (await leader.run(run_id))["state"] == "deleted"
    finally:
        await follower.stop()
