"""An app (or a dependency) whose container keeps crashing fails its step at once, saying how it exited and
what it last wrote, read from the API server (the previous instance's log): no wait for the ready timeout."""

from __future__ import annotations

from tests.integration.harness import Harness, spec
from tests.integration.simulation import PodReport, crash_looping

PLAIN = {"dependency": {"type": "none"}, "migration": {"enabled": False}}
TRACEBACK = "".join(f"starting worker {n}\n" for n in range(40)) + (
    "Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n"
    "KeyError: 'DATABASE_URL'\n")


async def test_crash_looping_app_fails_at_app_with_exit_code_and_its_last_log_lines(harness: Harness) -> None:
    await harness.stop()
    await harness.start(ready_timeout=3600.0)  # the failure must not come from the timeout
    harness.controllers.pods["app"] = PodReport(crash_looping(exit_code=3, restarts=4),
                                                previous_logs={"app": TRACEBACK})

    run = await harness.run_after_build(spec(**PLAIN))

    assert run["state"] == "failed" and run["reason"] == "app:AppCrashLooping"
    message = str(run["message"])
    assert "container app keeps crashing: it exited 5 times, last with exit code 3 (Error)" in message
    assert "KeyError: 'DATABASE_URL'" in message  # the previous instance's last line
    assert "starting worker 20\n" not in message and "starting worker 39" in message  # its last 20 lines only
    assert "docs/troubleshooting.md#the-app-keeps-crashing" in message
    assert harness.registry.get_sample_value(
        "tekton_runner_stage_failures_total", {"stage": "app", "reason": "AppCrashLooping"}) == 1


async def test_one_crash_is_waited_out_and_shown_while_the_app_step_waits(harness: Harness) -> None:
    await harness.stop()
    await harness.start(poll_interval=3600.0)  # one look, then the step waits for its due time
    once = crash_looping(exit_code=137, restarts=0)
    once["lastState"]["terminated"]["reason"] = "OOMKilled"
    harness.controllers.pods["app"] = PodReport(once)
    run_id = (await harness.post_run(spec(**PLAIN)))["run_id"]
    harness.finish_taskrun(run_id)
    await harness.orchestrator.resync()

    step = await harness.app_step_waiting(run_id)

    assert step["state"] == "running"
    assert "container app exited with exit code 137 (OOMKilled); the kubelet restarts it" in str(step["message"])
    assert (await harness.http.delete(f"/runs/{run_id}")).status == 200


async def test_crash_looping_dependency_fails_at_dependency_naming_its_container(harness: Harness) -> None:
    harness.controllers.pods["redis"] = PodReport(
        crash_looping(exit_code=1, restarts=2),
        previous_logs={"redis": "*** FATAL CONFIG FILE ERROR (Redis 7.2.4) ***\nBad directive or wrong number "
                                "of arguments\n"})

    run = await harness.run_after_build(spec(dependency={"type": "redis"}, migration={"enabled": False}))

    assert run["state"] == "failed" and run["reason"] == "dependency:DependencyCrashLooping"
    assert "container redis keeps crashing" in str(run["message"])
    assert "Bad directive or wrong number of arguments" in str(run["message"])
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is None  # the app was never applied


async def test_crash_loop_whose_log_is_gone_still_fails_with_its_exit_code(harness: Harness) -> None:
    looping = crash_looping(exit_code=2, restarts=3)
    del looping["lastState"]["terminated"]["containerID"]
    harness.controllers.pods["app"] = PodReport(looping)  # the kubelet no longer has the previous instance

    run = await harness.run_after_build(spec(**PLAIN))

    assert run["reason"] == "app:AppCrashLooping"
    assert "exit code 2 (Error); its log could not be read" in str(run["message"])
