"""A client following a run (GET /runs/{id}/events) through any replica sees the transitions the leader's
chain writes as they happen, each once and in order, without resuming its stream: on one PostgreSQL the
follower is notified of each one; on one SQLite file it reads them on its interval."""

from __future__ import annotations

from tests.databases import both_backends
from tests.integration.harness import Harness, spec
from tests.integration.replicas import replicas, run_resting_at_its_app_step
from tests.sse import Message, read_events, read_until, shape

pytestmark = both_backends


async def test_a_client_of_a_follower_sees_the_leaders_transitions_live_once_in_order(harness: Harness) -> None:
    leader, follower = await replicas(harness, 2)
    try:
        run_id = (await follower.post_run(spec()))["run_id"]
        stream = await follower.http.get(f"/runs/{run_id}/events")

        # building is written by the leader's dispatcher only: it reaches the open stream while the run goes on
        seen: list[Message] = await read_until(stream, lambda m: (m["event"], m["state"]) == ("run", "building"))
        assert shape(seen) == [("run", None, "pending"), ("run", None, "building")]
        assert (await leader.run(run_id))["state"] == "building"

        await leader.send_event(leader.finish_taskrun(run_id), "successful")
        seen += await read_events(stream)  # the same stream, to the run's end

        assert [m["id"] for m in seen] == list(range(1, len(seen) + 1))  # each once, in order
        assert shape(seen)[-1] == ("run", None, "succeeded")
        assert ("step", "app", "succeeded") in shape(seen)
        history = await read_events(await leader.http.get(f"/runs/{run_id}/events"))
        assert seen == history  # every stored transition, exactly as the leader has it
    finally:
        await follower.stop()


async def test_a_client_of_the_leader_sees_what_a_follower_wrote(harness: Harness) -> None:
    leader, follower, run_id = await run_resting_at_its_app_step(harness)  # the run stays live
    try:
        stream = await leader.http.get(f"/runs/{run_id}/events")
        before = await read_until(stream, lambda m: (m["event"], m["step"], m["state"]) == ("step", "app", "running"))

        assert (await follower.http.delete(f"/runs/{run_id}")).status == 200  # the follower writes "deleted"
        after = await read_events(stream)

        assert shape(after)[-1] == ("run", None, "deleted")
        assert [m["id"] for m in before + after] == list(range(1, len(before) + len(after) + 1))
    finally:
        await follower.stop()
