"""GET /runs/{id}/events: every transition once and in order, history for late clients, resume, clean ends."""

from __future__ import annotations

from tests.databases import both_backends
from tests.integration.harness import Harness, spec
from tests.sse import read_events, shape

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


async def test_a_follower_from_the_start_sees_every_transition_once_in_order(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    response = await harness.http.get(f"/runs/{run_id}/events")
    await harness.send_event(harness.finish_taskrun(run_id), "successful")

    messages = await read_events(response)

    assert [m["id"] for m in messages] == list(range(1, len(messages) + 1))
    states = shape(messages)
    assert states[:3] == [("run", None, "pending"), ("run", None, "building"), ("step", "build", "running")]
    assert states[-1] == ("run", None, "succeeded")
    for step in ("build", "dependency", "migration", "app", "forward"):
        ends = [s for s in states if s[1] == step and s[2] in ("succeeded", "failed", "skipped")]
        assert ends == [("step", step, "succeeded")], states
    assert states.index(("run", None, "deploying")) < states.index(("step", "dependency", "running"))
    assert messages[-1]["reason"] == "Deployed"


async def test_a_late_follower_gets_the_history_and_can_resume_after_the_last_id(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    everything = await read_events(await harness.http.get(f"/runs/{run['run_id']}/events"))
    assert everything[-1]["state"] == "succeeded"

    resumed = await read_events(await harness.http.get(f"/runs/{run['run_id']}/events",
                                                       headers={"Last-Event-ID": str(everything[4]["id"])}))
    assert resumed == everything[5:]
    by_query = await read_events(await harness.http.get(f"/runs/{run['run_id']}/events?after=5"))
    assert by_query == everything[5:]


async def test_a_failed_run_stream_ends_with_the_failure(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id, succeeded=False, reason="Failed"), "failed")
    await harness.settle()
    messages = await read_events(await harness.http.get(f"/runs/{run_id}/events"))
    assert shape(messages)[-1] == ("run", None, "failed")
    assert messages[-1]["reason"] == "build:Failed"
    skipped = {m["step"] for m in messages if m["event"] == "step" and m["state"] == "skipped"}
    assert skipped == {"dependency", "migration", "app", "forward"}


async def test_unknown_runs_and_bad_resume_points_are_refused(harness: Harness) -> None:
    assert (await harness.http.get("/runs/r-0000000000000000/events")).status == 404
    run_id = (await harness.post_run(spec()))["run_id"]
    bad = await harness.http.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": "-1"})
    assert bad.status == 422 and (await bad.json())["fields"][0]["field"] == "Last-Event-ID"
    bad = await harness.http.get(f"/runs/{run_id}/events?after=x")
    assert bad.status == 422 and (await bad.json())["fields"][0]["field"] == "after"


async def test_followers_beyond_the_limit_are_told_to_come_back(harness: Harness) -> None:
    await harness.stop()
    await harness.start(max_followers=1)
    run_id = (await harness.post_run(spec()))["run_id"]
    first = await harness.http.get(f"/runs/{run_id}/events")
    assert first.status == 200
    second = await harness.http.get(f"/runs/{run_id}/events")
    assert second.status == 503 and second.headers["Retry-After"] == "5"
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    assert (await read_events(first))[-1]["state"] == "succeeded"
    third = await harness.http.get(f"/runs/{run_id}/events")  # the first one's place is free again
    assert third.status == 200
    third.close()


async def test_stopping_the_runner_ends_open_streams_cleanly(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]  # building: its stream would run until the build ends
    response = await harness.http.get(f"/runs/{run_id}/events")
    assert response.status == 200
    first = await response.content.readuntil(b"\n\n")
    assert first.startswith(b"id: 1\n")
    await harness.http.app.shutdown()  # what the server does first when it is told to stop
    rest = await response.content.read()  # the server ended the stream: no hang, no reset
    assert rest == b"" or rest.endswith(b"\n\n")
    assert response.content.at_eof()


async def test_a_stream_ends_after_its_longest_time_and_resumes_where_it_stopped(harness: Harness) -> None:
    await harness.stop()
    await harness.start(follow_seconds=0.2)
    run_id = (await harness.post_run(spec()))["run_id"]
    first = await read_events(await harness.http.get(f"/runs/{run_id}/events"))  # ends although the run goes on
    assert shape(first)[-1] == ("step", "build", "running")
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    seen = list(first)
    while not (seen[-1]["event"] == "run" and seen[-1]["state"] in ("succeeded", "failed")):
        # each stream lasts 0.2 s: resume after the last transition seen until the run's end arrives
        seen += await read_events(await harness.http.get(f"/runs/{run_id}/events",
                                                         headers={"Last-Event-ID": str(seen[-1]["id"])}))
    rest = seen[len(first):]
    assert [m["id"] for m in first + rest] == list(range(1, len(first) + len(rest) + 1))
