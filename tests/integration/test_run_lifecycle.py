"""What users see around a run: status, endpoint, external map, metrics, redeploys and teardown."""

from __future__ import annotations

import asyncio

from tests.databases import both_backends
from tests.integration.harness import BUILD_NS, Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


async def test_redeploy_keeps_port_and_credentials_and_replaces_the_app(harness: Harness) -> None:
    first = await harness.run_to_success(spec())
    secret_before = harness.fake.get_object("secrets", "shop-deps", "ws-demo")
    second = await harness.run_to_success(spec(app={"name": "shop", "port": 8080, "env": {"NEW": "1"}}))
    secret_after = harness.fake.get_object("secrets", "shop-deps", "ws-demo")
    assert secret_before is not None and secret_after is not None
    assert secret_after["data"]["PGPASSWORD"] == secret_before["data"]["PGPASSWORD"]
    assert second["endpoint"]["external_port"] == first["endpoint"]["external_port"]
    app = harness.fake.get_object("deployments", "shop", "ws-demo")
    assert app is not None
    env = {item["name"] for item in app["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "NEW" in env and "GREETING" not in env  # the old run's variable is gone, not merged in
    assert app["metadata"]["labels"]["tekton-runner.io/run-id"] == second["run_id"]


async def test_endpoint_and_external_map_describe_the_app(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    response = await harness.http.get("/endpoint", params={"workspace": "demo", "app": "shop"})
    assert response.status == 200
    body = await response.json()
    assert body["run_id"] == run["run_id"]
    assert body["host_local"]["address"] == "127.0.0.1:30080"
    assert body["external"]["address"] == f"203.0.113.7:{run['endpoint']['external_port']}"
    assert body["host_local"]["reachable"] is False  # nothing listens on the fake node port
    mapping = (await (await harness.http.get("/external-map")).json())["mappings"]
    assert [(m["workspace"], m["app"], m["target"]) for m in mapping] == [("demo", "shop", "127.0.0.1:30080")]
    missing = await harness.http.get("/endpoint", params={"workspace": "demo", "app": "nope"})
    assert missing.status == 404
    assert (await harness.http.get("/endpoint", params={"app": "shop"})).status == 422


async def test_metrics_count_each_stage_by_outcome(harness: Harness) -> None:
    await harness.run_to_success(spec())
    text = await (await harness.http.get("/metrics")).text()
    for stage in ("build", "dependency", "migration", "app", "forward"):
        assert f'tekton_runner_stage_total{{outcome="succeeded",stage="{stage}"}} 1.0' in text, stage
        assert f'tekton_runner_stage_duration_seconds_count{{outcome="succeeded",stage="{stage}"}} 1.0' in text
    assert 'tekton_runner_runs_total{state="succeeded"} 1.0' in text
    assert 'tekton_runner_dispatch_total{outcome="accepted"} 1.0' in text


async def test_delete_tears_down_the_run_objects(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    response = await harness.http.delete(f"/runs/{run['run_id']}")
    assert response.status == 200 and (await response.json())["state"] == "deleted"
    for kind in ("deployments", "services", "jobs", "secrets"):
        assert harness.fake.objects(kind, "ws-demo") == [], kind
    assert harness.fake.get_object("taskruns", f"build-{run['run_id']}", BUILD_NS) is None
    assert (await (await harness.http.get("/external-map")).json())["mappings"] == []


async def test_delete_during_the_chain_stops_it(harness: Harness) -> None:
    hold = harness.fake.delay(method="PATCH", path_regex=r"/deployments/shop-redis$")
    run_id = (await harness.post_run(spec()))["run_id"]
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await hold.arrived.wait()
    deleting = asyncio.ensure_future(harness.http.delete(f"/runs/{run_id}"))
    hold.release.set()
    assert (await deleting).status == 200
    await harness.settle()
    run = await harness.run(run_id)
    assert run["state"] == "deleted"
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is None


async def test_listing_filters_by_state_and_app(harness: Harness) -> None:
    await harness.run_to_success(spec())
    harness.listener.status = 503
    await harness.post_run(spec(app={"name": "other"}))
    listing = await (await harness.http.get("/runs", params={"state": "pending"})).json()
    assert [run["app"] for run in listing["runs"]] == ["other"]
    listing = await (await harness.http.get("/runs", params={"app": "shop"})).json()
    assert [run["state"] for run in listing["runs"]] == ["succeeded"]
    assert (await harness.http.get("/runs", params={"state": "bogus"})).status == 422


async def test_openapi_document_carries_the_request_schema(harness: Harness) -> None:
    document = await (await harness.http.get("/openapi.json")).json()
    assert "RunSpec" in document["components"]["schemas"]
    assert "/run" in document["paths"]


async def test_readyz_reports_an_unreachable_api_server(harness: Harness) -> None:
    assert (await harness.http.get("/readyz")).status == 200
    harness.fake.fail(method="GET", path_regex=r"^/version", status=503, times=None)
    response = await harness.http.get("/readyz")
    assert response.status == 503
    assert (await response.json())["checks"]["kubernetes"].startswith("failed")
