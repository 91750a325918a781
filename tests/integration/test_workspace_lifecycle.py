"""Workspaces can be listed and removed as a whole, by hand or after an idle TTL."""

from __future__ import annotations

from datetime import timedelta

from tekton_runner.app import CONTEXT
from tekton_runner.chain.lifecycle import retirement
from tests.integration.harness import Harness, spec


async def test_workspaces_are_listed_with_their_apps_and_ports(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    listing = (await (await harness.http.get("/workspaces")).json())["workspaces"]
    assert [(w["name"], w["namespace"], w["apps"]) for w in listing] == [("demo", "ws-demo", ["shop"])]
    assert listing[0]["external_ports"] == [run["endpoint"]["external_port"]]


async def test_deleting_a_workspace_removes_it_and_frees_its_ports(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    response = await harness.http.delete("/workspaces/demo")
    assert response.status == 200
    body = await response.json()
    assert body["runs_ended"] == [run["run_id"]]
    assert body["ports_released"] == [run["endpoint"]["external_port"]]
    assert harness.fake.get_object("namespaces", "ws-demo") is None
    assert (await harness.run(run["run_id"]))["state"] == "deleted"
    assert (await (await harness.http.get("/external-map")).json())["mappings"] == []
    assert (await harness.http.delete("/workspaces/demo")).status == 200  # runs remember it; removal is idempotent
    assert (await harness.http.delete("/workspaces/never")).status == 404


async def test_idle_workspace_is_removed_after_the_ttl(harness: Harness) -> None:
    await harness.stop()
    await harness.start(workspaces={"idle_ttl": 3600.0})
    run = await harness.run_to_success(spec())
    ctx = harness.http.app[CONTEXT]
    assert await retirement.expire_idle(ctx, now=ctx.clock.now() + timedelta(minutes=59)) == []
    assert harness.fake.get_object("namespaces", "ws-demo") is not None
    assert await retirement.expire_idle(ctx, now=ctx.clock.now() + timedelta(minutes=61)) == ["demo"]
    assert harness.fake.get_object("namespaces", "ws-demo") is None
    assert (await harness.run(run["run_id"]))["state"] == "deleted"


async def test_workspace_with_a_live_run_is_never_expired(harness: Harness) -> None:
    await harness.stop()
    await harness.start(workspaces={"idle_ttl": 60.0})
    run_id = (await harness.post_run(spec()))["run_id"]  # still building
    ctx = harness.http.app[CONTEXT]
    assert await retirement.expire_idle(ctx, now=ctx.clock.now() + timedelta(days=1)) == []
    assert (await harness.run(run_id))["state"] == "building"
