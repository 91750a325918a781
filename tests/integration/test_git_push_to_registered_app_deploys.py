"""Registered apps: the runner applies their webhook Trigger, and a push build is deployed like a /run."""

from __future__ import annotations

import uuid
from typing import Any

from tests.databases import both_backends
from tests.integration.harness import BUILD_NS, DIGEST, Harness

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


SHA = "0123456789abcdef0123456789abcdef01234567"
REGISTRATION = {
    "workspace": "demo",
    "app": {"name": "shop", "port": 8080},
    "source": {"url": "https://github.com/acme/shop.git", "branch": "main"},
    "dependency": {"type": "redis"},
}


def push_taskrun(harness: Harness, app_id: str, *, created: str | None = None,
                 labels: dict[str, str] | None = None, image: str | None = None) -> dict[str, Any]:
    """What the webhook TriggerTemplate creates for a push (no run-id label); `labels` and `image` alter it."""
    name = f"build-{app_id}-{SHA[:12]}"
    harness.fake.put_object({
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": name, "namespace": BUILD_NS, "uid": str(uuid.uuid4()),
                     "labels": {"tekton-runner.io/app-id": app_id, "tekton-runner.io/trigger": "git-push",
                                "tekton-runner.io/git-revision": SHA,
                                "triggers.tekton.dev/eventlistener": "tekton-runner",
                                "triggers.tekton.dev/trigger": f"tekton-runner-app-{app_id}", **(labels or {})}},
        "spec": {"params": [{"name": "IMAGE", "value": image or f"harbor.test/library/demo-shop:{SHA}"}]},
        "status": {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]},
    })
    if created is not None:  # server-owned: the fake stamps it, so an older object is back-dated here
        store = harness.fake.store
        store.objects[store.key(harness.fake.registry.resolve("taskruns"), BUILD_NS, name)]["metadata"][
            "creationTimestamp"] = created
    return harness.fake.set_status("taskruns", name, {
        "completionTime": "2999-01-01T00:01:00Z",
        "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
        "results": [{"name": "IMAGE_DIGEST", "type": "string", "value": DIGEST}],
    }, namespace=BUILD_NS)


async def register(harness: Harness, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await harness.http.post("/apps", json=body or REGISTRATION)
    assert response.status in (200, 201), await response.text()
    return dict(await response.json())


async def test_registering_applies_the_webhook_trigger(harness: Harness) -> None:
    app = await register(harness)
    assert app["id"] == "demo-shop" and app["image_repository"] == "harbor.test/library/demo-shop"
    trigger = harness.fake.get_object("triggers", "tekton-runner-app-demo-shop", BUILD_NS)
    assert trigger is not None
    assert trigger["metadata"]["labels"]["tekton-runner.io/eventlistener"] == "tekton-runner"
    assert "refs/heads/main" in trigger["spec"]["interceptors"][1]["params"][0]["value"]
    again = await harness.http.post("/apps", json={**REGISTRATION, "source": {**REGISTRATION["source"],
                                                                             "branch": "release"}})
    assert again.status == 200  # re-registering updates the same app and Trigger
    trigger = harness.fake.get_object("triggers", "tekton-runner-app-demo-shop", BUILD_NS)
    assert trigger is not None and "refs/heads/release" in trigger["spec"]["interceptors"][1]["params"][0]["value"]
    listing = await (await harness.http.get("/apps")).json()
    assert [a["id"] for a in listing["apps"]] == ["demo-shop"]


async def test_push_build_is_recorded_and_deployed_once(harness: Harness) -> None:
    await register(harness)
    taskrun = push_taskrun(harness, "demo-shop")
    for _ in range(2):  # a duplicate delivery with a fresh ce-id
        assert (await harness.send_event(taskrun, "successful")).status in (200, 202)
    await harness.settle()
    runs = (await (await harness.http.get("/runs")).json())["runs"]
    assert len(runs) == 1
    run = await harness.run(runs[0]["run_id"])
    assert run["state"] == "succeeded"
    assert run["spec"]["source"]["revision"] == SHA
    assert run["deployed_image"] == f"harbor.test/library/demo-shop@{DIGEST}"
    assert harness.fake.get_object("deployments", "shop-redis", "ws-demo") is not None
    assert len(harness.fake.applies("deployments", "shop")) == 1


async def test_push_build_whose_event_was_lost_is_found_by_resync(harness: Harness) -> None:
    await register(harness)
    push_taskrun(harness, "demo-shop")
    await harness.orchestrator.resync()
    await harness.settle()
    runs = (await (await harness.http.get("/runs")).json())["runs"]
    assert [run["state"] for run in runs] == ["succeeded"]
    await harness.orchestrator.resync()  # and a second pass records nothing new
    assert len((await (await harness.http.get("/runs")).json())["runs"]) == 1


async def test_builds_for_unregistered_or_earlier_apps_are_not_deployed(harness: Harness) -> None:
    stray = push_taskrun(harness, "nobody-here")
    await harness.send_event(stray, "successful")
    await register(harness)
    old = push_taskrun(harness, "demo-shop", created="2000-01-01T00:00:00Z")  # before this registration
    await harness.send_event(old, "successful")
    await harness.settle()
    await harness.orchestrator.resync()
    assert (await (await harness.http.get("/runs")).json())["runs"] == []
    assert harness.fake.applies("deployments") == []


async def test_deleting_an_app_removes_its_trigger(harness: Harness) -> None:
    await register(harness)
    response = await harness.http.delete("/apps/demo-shop")
    assert response.status == 200
    assert harness.fake.get_object("triggers", "tekton-runner-app-demo-shop", BUILD_NS) is None
    assert (await harness.http.delete("/apps/demo-shop")).status == 404
    assert (await harness.http.get("/apps/demo-shop")).status == 404


async def test_invalid_registration_is_refused_and_applies_nothing(harness: Harness) -> None:
    bad = {**REGISTRATION, "source": {"url": "https://github.com/acme/shop.git", "branch": "main",
                                      "context": "$(body.x)"}}
    response = await harness.http.post("/apps", json=bad)
    assert response.status == 422
    assert (await response.json())["fields"][0]["field"] == "source.context"
    assert harness.fake.applies() == []


async def no_runs_and_nothing_deployed(harness: Harness) -> None:
    await harness.settle()
    await harness.orchestrator.resync()
    await harness.settle()
    assert (await (await harness.http.get("/runs")).json())["runs"] == []
    assert harness.fake.applies("deployments") == []


async def test_forged_push_event_with_no_taskrun_deploys_nothing(harness: Harness) -> None:
    await register(harness)
    forged = push_taskrun(harness, "demo-shop", image="evil.example/x:latest")
    harness.fake.store.delete(harness.fake.registry.resolve("taskruns"), BUILD_NS, forged["metadata"]["name"])
    assert (await harness.send_event(forged, "successful")).status == 202
    await no_runs_and_nothing_deployed(harness)


async def test_push_taskrun_not_made_by_the_apps_trigger_is_not_deployed(harness: Harness) -> None:
    await register(harness)
    for labels in ({"triggers.tekton.dev/eventlistener": "someone-elses"},
                   {"triggers.tekton.dev/trigger": "tekton-runner-build-request"}):
        taskrun = push_taskrun(harness, "demo-shop", labels=labels)
        await harness.send_event(taskrun, "successful")
        await harness.settle()  # looked at before the next variant replaces it
    await no_runs_and_nothing_deployed(harness)


async def test_push_taskrun_pushing_outside_the_apps_repository_is_not_deployed(harness: Harness) -> None:
    await register(harness)
    for image in ("evil.example/library/demo-shop:1", "harbor.test/library/demo-shop-evil:1",
                  "harbor.test/library/demo-shop/sub:1", f"harbor.test/library/demo-shop@sha256:{'1' * 64}"):
        await harness.send_event(push_taskrun(harness, "demo-shop", image=image), "successful")
        await harness.settle()
    await no_runs_and_nothing_deployed(harness)
