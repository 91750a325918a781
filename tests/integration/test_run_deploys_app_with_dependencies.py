"""A git run with redis + postgres and a migration ends with every object applied in ws-<workspace>."""

from __future__ import annotations

from tests.integration.harness import DIGEST, Harness, spec


async def test_run_builds_through_eventlistener_then_deploys_everything(harness: Harness) -> None:
    run = await harness.run_to_success(spec())
    headers, body = harness.listener.received[0]
    assert headers["Ce-Type"] == "io.tekton-runner.build.requested.v1"
    assert headers["Ce-Id"] == run["run_id"]
    assert body["source_type"] == "git" and body["git_url"].endswith("shop.git")
    assert all(isinstance(value, str) for value in body.values())

    fake = harness.fake
    assert fake.get_object("namespaces", "ws-demo") is not None
    for name in ("shop-redis", "shop-postgres", "shop"):
        assert fake.get_object("deployments", name, "ws-demo") is not None, name
    app = fake.get_object("deployments", "shop", "ws-demo")
    assert app is not None
    container = app["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"harbor.test/library/demo-shop@{DIGEST}"
    env = {item["name"]: item for item in container["env"]}
    assert env["GREETING"]["value"] == "hello"
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "shop-deps"
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "shop-deps"
    jobs = fake.objects("jobs", "ws-demo")
    assert len(jobs) == 1 and jobs[0]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "./manage.py", "migrate"]
    service = fake.get_object("services", "shop", "ws-demo")
    assert service is not None and service["spec"]["type"] == "NodePort"

    assert [step["state"] for step in run["steps"]] == ["succeeded"] * 5
    assert run["digest"] == DIGEST
    assert run["endpoint"]["external"].startswith("203.0.113.7:")
    assert run["endpoint"]["host_local"] == "127.0.0.1:30080"
    for request in fake.applies():
        assert request.query.get("fieldManager") == "tekton-runner"
