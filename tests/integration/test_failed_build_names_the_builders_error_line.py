"""A failed build's message quotes the builder: the first step container that exited non-zero, its exit code and
its last log lines, read from the build pod the API server's TaskRun names (never from an event's copy)."""

from __future__ import annotations

import copy

from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.pods import put_build_pod

KANIKO = ("INFO[0002] Retrieving image manifest python:3.12-slim\n"
          "INFO[0004] RUN pip install -r requirements.txt\n"
          "ERROR: Could not find a version that satisfies the requirement flask==99.0\n"
          "error building image: error building stage: failed to execute command: waiting for process to exit: "
          "exit status 1\n")


def fail_step(harness: Harness, pod: str, container: str, exit_code: int) -> None:
    obj = harness.fake.get_object("pods", pod, BUILD_NS)
    assert obj is not None
    statuses = [
        {**status, "state": {"terminated": {"exitCode": exit_code, "reason": "Error",
                                            "message": '[{"key":"StartedAt","value":"2026-12-02T10:00:00Z"}]'}}}
        if status["name"] == container else status
        for status in obj["status"]["containerStatuses"]
    ]
    harness.fake.set_status("pods", pod, {"phase": "Failed", "containerStatuses": statuses}, namespace=BUILD_NS,
                            merge=True)


async def failed_build(harness: Harness, log: str) -> tuple[str, dict[str, object]]:
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id)
    fail_step(harness, pod, "step-build-and-push", 1)
    harness.fake.write_log(BUILD_NS, pod, "step-build-and-push", log)
    taskrun = harness.finish_taskrun(run_id, succeeded=False, reason="Failed",
                                     message='"step-build-and-push" exited with code 1: Error')
    return run_id, taskrun


async def test_failed_build_message_ends_with_the_builders_error_line_and_exit_code(harness: Harness) -> None:
    run_id, taskrun = await failed_build(harness, KANIKO)

    await harness.send_event(taskrun, "failed")
    await harness.settle()

    run = await harness.run(run_id)
    assert run["state"] == "failed" and run["reason"] == "build:Failed"
    message = str(run["message"])
    assert message.startswith('"step-build-and-push" exited with code 1: Error\n')
    assert "step build-and-push failed with exit code 1 (Error); its last log lines:" in message
    assert "StartedAt" not in message  # Tekton's own termination message is not the builder's
    assert message.endswith("error building image: error building stage: failed to execute command: waiting for "
                            "process to exit: exit status 1")
    assert "flask==99.0" in message
    build = next(step for step in run["steps"] if step["name"] == "build")
    assert build["message"] == message


async def test_the_first_failed_step_is_quoted_not_the_ones_tekton_skipped_after_it(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id)
    fail_step(harness, pod, "step-fetch-source", 128)
    fail_step(harness, pod, "step-build-and-push", 1)  # skipped by the entrypoint after the failed fetch
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "fatal: repository 'https://git.example.com/x' "
                                                                 "not found\n")
    harness.fake.write_log(BUILD_NS, pod, "step-build-and-push", "skipping: a previous step failed\n")

    await harness.send_event(harness.finish_taskrun(run_id, succeeded=False), "failed")
    await harness.settle()

    message = str((await harness.run(run_id))["message"])
    assert "step fetch-source failed with exit code 128 (Error)" in message
    assert "fatal: repository 'https://git.example.com/x' not found" in message
    assert "skipping" not in message


async def test_a_huge_build_log_is_quoted_by_its_last_lines_within_a_bound(harness: Harness) -> None:
    noise = "".join(f"layer {n}: " + "x" * 500 + "\n" for n in range(200))
    run_id, taskrun = await failed_build(harness, noise + "error building image: out of disk\n")

    await harness.send_event(taskrun, "failed")
    await harness.settle()

    message = str((await harness.run(run_id))["message"])
    assert message.endswith("error building image: out of disk")
    assert len(message) < 2300 and "layer 10:" not in message


async def test_an_event_naming_another_pod_does_not_change_what_is_quoted(harness: Harness) -> None:
    run_id, taskrun = await failed_build(harness, KANIKO)
    decoy = put_build_pod(harness.fake, "r-0000000000000000", with_pod_name=False)
    harness.fake.write_log(BUILD_NS, decoy, "step-build-and-push", "error: you have been pwned\n")
    fail_step(harness, decoy, "step-build-and-push", 1)
    forged = copy.deepcopy(taskrun)
    forged["status"]["podName"] = decoy
    forged["status"]["conditions"][0]["message"] = "forged message"

    await harness.send_event(forged, "failed")
    await harness.settle()

    message = str((await harness.run(run_id))["message"])
    assert "pwned" not in message and "forged" not in message
    assert "flask==99.0" in message


async def test_a_build_pod_that_is_gone_leaves_tektons_message(harness: Harness) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    taskrun = harness.finish_taskrun(run_id, succeeded=False, reason="TaskRunTimeout",
                                     message="TaskRun build-x failed to finish within 1h0m0s")

    await harness.send_event(taskrun, "failed")
    await harness.settle()

    run = await harness.run(run_id)
    assert run["reason"] == "build:TaskRunTimeout"
    assert run["message"] == "TaskRun build-x failed to finish within 1h0m0s"
