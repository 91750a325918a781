"""POST /runs/{id}/redeploy: an earlier run's digest-pinned image deployed again as a new run, no build."""

from __future__ import annotations

from tests.databases import both_backends
from tests.integration.harness import BUILD_NS, DIGEST, Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


NEWER = "sha256:" + "cd" * 32


def app_image(harness: Harness) -> str:
    deployment = harness.fake.get_object("deployments", "shop", "ws-demo")
    assert deployment is not None
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


async def test_a_succeeded_run_is_deployed_again_as_a_new_linked_run_without_a_build(harness: Harness) -> None:
    first = await harness.run_to_success(spec(expose={"external_port": 18741}))
    second_id = (await harness.post_run(spec(expose={"external_port": 18741})))["run_id"]
    await harness.send_event(harness.finish_taskrun(second_id, digest=NEWER), "successful")
    await harness.settle()
    assert app_image(harness).endswith(NEWER)
    build_requests, taskruns = len(harness.listener.received), len(harness.fake.objects("taskruns", BUILD_NS))

    response = await harness.http.post(f"/runs/{first['run_id']}/redeploy")
    assert response.status == 202, await response.text()
    created = await response.json()
    assert created["run_id"] not in (first["run_id"], second_id)
    assert response.headers["Location"] == f"/runs/{created['run_id']}"
    await harness.settle()

    run = await harness.run(created["run_id"])
    assert run["state"] == "succeeded", run
    assert run["redeploy_of"] == first["run_id"]
    assert run["digest"] == DIGEST and run["image"] == first["image"]
    assert run["spec"] == first["spec"]
    build = run["steps"][0]
    assert (build["name"], build["state"], build["reason"]) == ("build", "skipped", "Redeploy")
    assert first["run_id"] in build["message"] and DIGEST in build["message"]
    assert [step["state"] for step in run["steps"][1:]] == ["succeeded"] * 4
    assert app_image(harness) == f"harbor.test/library/demo-shop@{DIGEST}"
    assert run["endpoint"]["external_port"] == 18741
    assert len(harness.listener.received) == build_requests
    assert len(harness.fake.objects("taskruns", BUILD_NS)) == taskruns
    migrations = {job["metadata"]["name"] for job in harness.fake.objects("jobs", "ws-demo")}
    assert f"shop-migrate-{run['run_id'].removeprefix('r-')[:8]}" in migrations  # the migration policy again
    assert (await harness.run(first["run_id"]))["redeploy_of"] is None


async def test_a_redeploy_is_followed_like_any_run(harness: Harness) -> None:
    first = await harness.run_to_success(spec())
    created = await (await harness.http.post(f"/runs/{first['run_id']}/redeploy")).json()
    await harness.settle()
    events = await (await harness.http.get(f"/runs/{created['run_id']}/events")).text()
    assert "Redeploy" in events
    assert events.index('"state":"deploying"') < events.rindex('"state":"succeeded"')


async def test_a_run_without_a_digest_is_refused_with_409(harness: Harness) -> None:
    building = (await harness.post_run(spec()))["run_id"]
    response = await harness.http.post(f"/runs/{building}/redeploy")
    assert response.status == 409
    problem = await response.json()
    assert problem["error"] == "not_redeployable" and "no image digest" in problem["message"]

    await harness.send_event(harness.finish_taskrun(building, succeeded=False, digest=None), "failed")
    await harness.settle()
    refused = await harness.http.post(f"/runs/{building}/redeploy")
    assert refused.status == 409 and "no image digest" in (await refused.json())["message"]
    assert len((await (await harness.http.get("/runs")).json())["runs"]) == 1


async def test_an_unknown_run_is_404(harness: Harness) -> None:
    assert (await harness.http.post("/runs/r-0000000000000000/redeploy")).status == 404


async def test_a_retried_redeploy_with_the_same_key_makes_one_run(harness: Harness) -> None:
    first = await harness.run_to_success(spec())
    other = await harness.run_to_success(spec())
    headers = {"Idempotency-Key": "rollback-1"}
    made = await harness.http.post(f"/runs/{first['run_id']}/redeploy", headers=headers)
    again = await harness.http.post(f"/runs/{first['run_id']}/redeploy", headers=headers)
    assert made.status == 202 and again.status == 200
    assert (await made.json())["run_id"] == (await again.json())["run_id"]
    elsewhere = await harness.http.post(f"/runs/{other['run_id']}/redeploy", headers=headers)
    assert elsewhere.status == 409 and (await elsewhere.json())["error"] == "idempotency_key_reused"
    as_new_run = await harness.http.post("/run", json=spec(), headers=headers)
    assert as_new_run.status == 409
    await harness.settle()


async def test_post_run_bodies_from_before_redeploys_still_work(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    assert run["redeploy_of"] is None
    assert run["steps"][0]["reason"] == "Succeeded"
