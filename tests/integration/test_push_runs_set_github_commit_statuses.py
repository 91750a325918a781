"""TEKTON_RUNNER_GITHUB_TOKEN: a push run's commit gets pending, then success with the endpoint or failure
naming the step; the token goes to TEKTON_RUNNER_GITHUB_API only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio

from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.receivers import Received, Receiver, receiver
from tests.integration.test_git_push_to_registered_app_deploys import SHA, push_taskrun, register

TOKEN = "ghp_" + "x" * 36
STATUSES = f"/api/v3/repos/acme/shop/statuses/{SHA}"


@dataclass(frozen=True)
class Receivers:
    github: Receiver  # stands in for the GitHub API
    events: Receiver  # the CloudEvents receiver, which must never see the token


@pytest_asyncio.fixture
async def stand_ins(harness: Harness) -> AsyncIterator[Receivers]:
    async with receiver() as github, receiver() as events:
        await harness.stop()
        await harness.start(github_token=TOKEN, github_api=github.url + "api/v3", notify_url=events.url,
                            notify_retry_delay=0.0, notify_retry_max_delay=0.0)
        yield Receivers(github, events)


async def push_run_to_success(harness: Harness) -> dict[str, object]:
    await register(harness)
    assert (await harness.send_event(push_taskrun(harness, "demo-shop"), "successful")).status in (200, 202)
    await harness.settle()
    runs = (await (await harness.http.get("/runs?limit=1")).json())["runs"]
    run = await harness.run(runs[0]["run_id"])
    assert run["state"] == "succeeded"
    return run


def finished(received: list[Received]) -> bool:
    return any(item.body["state"] in ("success", "failure") for item in received)


async def test_a_push_run_is_pending_then_success_with_its_endpoint(harness: Harness, stand_ins: Receivers) -> None:
    run = await push_run_to_success(harness)

    received = await stand_ins.github.until(finished)
    assert [item.path for item in received] == [STATUSES, STATUSES]
    assert [item.body["state"] for item in received] == ["pending", "success"]
    assert {item.body["context"] for item in received} == {"tekton-runner/demo/shop"}
    assert received[0].body["description"] == f"building run {run['run_id']}"
    endpoint = run["endpoint"]
    assert isinstance(endpoint, dict)
    assert received[1].body["target_url"] == f"http://{endpoint['external']}"
    assert all(item.headers["Authorization"] == f"Bearer {TOKEN}" for item in received)
    events = await stand_ins.events.until(lambda got: any(item.body["state"] == "succeeded" for item in got))
    assert all("Authorization" not in item.headers for item in events)  # the token stays with GitHub


async def test_a_failed_push_build_is_a_failure_naming_the_step(harness: Harness, stand_ins: Receivers) -> None:
    await register(harness)
    taskrun = push_taskrun(harness, "demo-shop")
    failed = harness.fake.set_status("taskruns", taskrun["metadata"]["name"], {
        "completionTime": "2999-01-01T00:01:00Z",
        "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed",
                        "message": "step-build exited with code 1"}],
    }, namespace=BUILD_NS)
    await harness.send_event(failed, "failed")
    await harness.settle()

    received = await stand_ins.github.until(finished)
    assert [item.body["state"] for item in received] == ["pending", "failure"]
    assert received[1].body["description"].startswith("failed at step build: Failed")


async def test_runs_from_post_run_set_no_commit_status(harness: Harness, stand_ins: Receivers) -> None:
    await harness.run_to_success(spec(source={"type": "git", "url": "https://github.com/acme/shop.git",
                                              "revision": SHA}))
    pushed = await push_run_to_success(harness)  # delivered in order: after everything of the first run

    received = await stand_ins.github.until(finished)
    assert (received[0].body["state"], received[0].body["description"]) == (
        "pending", f"building run {pushed['run_id']}")
    assert [item.body["state"] for item in received] == ["pending", "success"]
