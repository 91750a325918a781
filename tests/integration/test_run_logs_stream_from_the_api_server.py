"""GET /runs/{id}/logs: the build's step containers in order and labelled, migration and app pods, follow
until the containers end or the client leaves, problems that say why a log is not there, and the bounds."""

from __future__ import annotations

import asyncio

import aiohttp

from tekton_runner.handlers.keys import LOGS
from tests.fakes.clock import FakeClock
from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.pods import put_build_pod, put_pod, set_container_state
from tests.integration.served import served


async def _logs(harness: Harness, run_id: str, **params: str) -> tuple[int, str, str]:
    response = await harness.http.get(f"/runs/{run_id}/logs", params=params)
    return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_build_log_is_every_step_container_in_order_with_its_name(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id)
    harness.fake.write_log(BUILD_NS, pod, "step-build-and-push", "pushed\n")
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\ncloned main\n")
    harness.fake.write_log(BUILD_NS, pod, "sidecar-registry", "sidecar noise\n")
    harness.fake.write_log(BUILD_NS, pod, "prepare", "init noise\n")
    status, content_type, text = await _logs(harness, run_id, step="build")
    assert status == 200 and content_type.startswith("text/plain")
    assert text == "[fetch-source] cloning\n[fetch-source] cloned main\n[build-and-push] pushed\n"


async def test_build_pod_is_found_by_its_taskrun_label_before_tekton_names_it(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id, with_pod_name=False)
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    assert (await _logs(harness, run_id))[2] == "[fetch-source] cloning\n"  # step defaults to build


async def test_follow_streams_lines_as_written_and_ends_when_the_last_step_ends(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id, state="running")
    response = await harness.http.get(f"/runs/{run_id}/logs", params={"step": "build", "follow": "1"})
    assert response.status == 200
    await harness.fake.logs.wait_following(1)
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    assert await response.content.readline() == b"[fetch-source] cloning\n"
    set_container_state(harness.fake, BUILD_NS, pod, "step-fetch-source", "terminated")
    await harness.fake.logs.wait_following(1)  # now following the next step
    harness.fake.write_log(BUILD_NS, pod, "step-build-and-push", "pushing\n")
    assert await response.content.readline() == b"[build-and-push] pushing\n"
    set_container_state(harness.fake, BUILD_NS, pod, "step-build-and-push", "terminated")
    assert await response.content.read() == b""  # the stream ended with the containers
    await harness.http.app[LOGS].follows.idle()


async def test_follow_waits_for_the_build_pod_to_appear(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    pods = rf"/namespaces/{BUILD_NS}/pods$"
    first_look = harness.fake.delay(method="GET", path_regex=pods)
    following = asyncio.ensure_future(harness.http.get(f"/runs/{run_id}/logs", params={"follow": "true"}))
    await first_look.arrived.wait()
    second_look = harness.fake.delay(method="GET", path_regex=pods)
    first_look.release.set()  # no pod yet: the follower keeps looking
    await second_look.arrived.wait()
    pod = put_build_pod(harness.fake, run_id, state="terminated", with_pod_name=False)
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    second_look.release.set()
    response = await following
    assert response.status == 200 and await response.text() == "[fetch-source] cloning\n"


async def test_follow_ends_when_the_client_goes_away(harness: Harness) -> None:
    """Served as `serve` serves it: aiohttp does not cancel a handler whose client left, the runner notices."""
    run_id = (await harness.post_run(spec()))["run_id"]
    put_build_pod(harness.fake, run_id, state="running")
    async with served(harness) as (host, port), aiohttp.ClientSession() as session:
        response = await session.get(f"http://{host}:{port}/runs/{run_id}/logs", params={"follow": "1"})
        assert response.status == 200
        await harness.fake.logs.wait_following(1)
        response.close()
        await harness.fake.logs.wait_no_follows()  # the runner let go of the API server's log stream


async def test_gone_build_pod_is_a_410_that_says_why(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    harness.finish_taskrun(run_id, succeeded=False, reason="Failed", message="step-build-and-push failed")
    status, _, text = await _logs(harness, run_id)
    assert status == 410
    assert f"the build pod build-{run_id}-pod no longer exists" in text and "step-build-and-push failed" in text


async def test_pruned_taskrun_is_a_410_that_says_so(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    harness.fake.store.delete(harness.fake.registry.resolve("taskruns"), BUILD_NS, f"build-{run['run_id']}")
    status, _, text = await _logs(harness, run["run_id"], step="build")
    assert status == 410 and "TaskRun was pruned" not in text
    assert f"TaskRun build-{run['run_id']} was pruned or deleted" in text


async def test_steps_not_reached_or_not_requested_are_404s_that_say_why(harness: Harness) -> None:
    building = (await harness.post_run(spec()))["run_id"]
    status, content_type, text = await _logs(harness, building, step="migration")
    assert status == 404 and content_type.startswith("application/json")
    assert "has not reached the migration step" in text
    without = (await harness.post_run(spec(app={"name": "lean"}, migration={"enabled": False})))["run_id"]
    status, _, text = await _logs(harness, without, step="migration")
    assert status == 404 and "migration.enabled is false" in text
    assert (await _logs(harness, "r-0000000000000000"))[0] == 404


async def test_unknown_step_is_a_400_naming_the_field(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    response = await harness.http.get(f"/runs/{run_id}/logs", params={"step": "deploy"})
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid" and [item["field"] for item in body["fields"]] == ["step"]
    bad_follow = await harness.http.get(f"/runs/{run_id}/logs", params={"follow": "yes please"})
    assert bad_follow.status == 400 and (await bad_follow.json())["fields"][0]["field"] == "follow"


async def test_migration_and_app_logs_come_from_the_runs_own_pods(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    labels = {"tekton-runner.io/run-id": run["run_id"]}
    put_pod(harness.fake, "ws-demo", "shop-migrate-x1", ("migrate",),
            labels={**labels, "app.kubernetes.io/component": "migration"})
    harness.fake.write_log("ws-demo", "shop-migrate-x1", "migrate", "applied 3 migrations\n")
    for name, created in (("shop-b", "2026-11-26T10:02:00Z"), ("shop-a", "2026-11-26T10:01:00Z")):
        put_pod(harness.fake, "ws-demo", name, ("app",), state="running", created=created,
                labels={**labels, "app.kubernetes.io/component": "app"})
        harness.fake.write_log("ws-demo", name, "app", f"listening on 8080 ({name})\n")
    put_pod(harness.fake, "ws-demo", "shop-old", ("app",), state="running",
            labels={"tekton-runner.io/run-id": "r-1111111111111111", "app.kubernetes.io/component": "app"})
    assert (await _logs(harness, run["run_id"], step="migration"))[2] == "[shop-migrate-x1] applied 3 migrations\n"
    status, _, text = await _logs(harness, run["run_id"], step="app")
    assert status == 200 and "shop-old" not in text
    assert sorted(text.splitlines()) == ["[shop-a] listening on 8080 (shop-a)", "[shop-b] listening on 8080 (shop-b)"]


async def test_app_pods_replaced_by_a_later_run_are_a_410(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    status, _, text = await _logs(harness, run["run_id"], step="app")
    assert status == 410 and "a later run of the app replaced them" in text


async def test_a_log_is_cut_at_the_byte_limit_with_a_note(harness: Harness) -> None:
    await harness.stop()
    await harness.start(logs_max_bytes=1024)
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id)
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "x" * 100 + "\n" + "y" * 5000)
    harness.fake.write_log(BUILD_NS, pod, "step-build-and-push", "never reached\n")
    status, _, text = await _logs(harness, run_id)
    lines = text.splitlines()
    assert status == 200 and lines[0] == "[fetch-source] " + "x" * 100
    assert lines[-1].startswith("[tekton-runner] the log is cut here") and "TEKTON_RUNNER_LOGS_MAX_BYTES" in lines[-1]
    assert len(text.encode()) - len(lines[-1]) - 1 <= 1024 and "never reached" not in text
    assert harness.fake.requests_to("GET", "/log$")[0].query["limitBytes"] == "1024"


async def test_follows_beyond_the_limit_are_refused_and_plain_reads_still_work(harness: Harness) -> None:
    await harness.stop()
    await harness.start(logs_max_follows=1)
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id, state="running")
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    first = await harness.http.get(f"/runs/{run_id}/logs", params={"follow": "1"})
    assert await first.content.readline() == b"[fetch-source] cloning\n"
    second = await harness.http.get(f"/runs/{run_id}/logs", params={"follow": "1"})
    assert second.status == 429 and second.headers["Retry-After"] == "5"
    assert "TEKTON_RUNNER_LOGS_MAX_FOLLOWS" in (await second.json())["message"]
    assert (await _logs(harness, run_id))[0] == 200
    first.close()
    await harness.http.app[LOGS].follows.idle()
    again = await harness.http.get(f"/runs/{run_id}/logs", params={"follow": "1"})
    assert again.status == 200
    again.close()
    await harness.http.app[LOGS].follows.idle()


async def test_a_follow_ends_with_a_note_at_the_follow_time_limit(harness: Harness) -> None:
    await harness.stop()
    harness.clock = FakeClock()
    await harness.start(logs_follow_timeout=30.0)
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id, state="running")
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    status, _, text = await _logs(harness, run_id, follow="1")  # the container never ends
    assert status == 200
    *before, last = text.splitlines()
    assert last == "[tekton-runner] the follow ended: it reached TEKTON_RUNNER_LOGS_FOLLOW_TIMEOUT"
    assert before in ([], ["[fetch-source] cloning"])  # on fake time the limit may come before the first line
    await harness.fake.logs.wait_no_follows()
