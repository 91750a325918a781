"""A request body written for `dependency: {type}` is still accepted; the run shows `dependencies`, and a
retry spelling the same kinds the new way is the same request."""

from __future__ import annotations

from tests.integration.harness import Harness, spec


async def test_dependency_type_both_deploys_redis_and_postgres_and_shows_the_list(harness: Harness) -> None:
    run = await harness.run_to_success(spec(dependency={"type": "both"}))
    assert run["spec"]["dependencies"] == ["redis", "postgres"] and "dependency" not in run["spec"]
    for name in ("shop-redis", "shop-postgres"):
        assert harness.fake.get_object("deployments", name, "ws-demo") is not None, name
    assert harness.fake.get_object("deployments", "shop-rabbitmq", "ws-demo") is None


async def test_retry_with_the_list_instead_of_the_type_is_the_same_request(harness: Harness) -> None:
    headers = {"Idempotency-Key": "ui-click-7"}
    first = await harness.http.post("/run", json=spec(dependency={"type": "both"}), headers=headers)
    assert first.status == 202
    retried = spec(dependencies=["postgres", "redis"])
    retried.pop("dependency")
    again = await harness.http.post("/run", json=retried, headers=headers)
    assert again.status == 200, await again.text()
    assert (await again.json())["run_id"] == (await first.json())["run_id"]
    await harness.settle()
    assert len(harness.listener.received) == 1


async def test_registered_app_with_the_type_shows_the_list(harness: Harness) -> None:
    response = await harness.http.post("/apps", json={
        "workspace": "demo", "app": {"name": "shop"}, "source": {"url": "https://git.example.com/team/shop.git"},
        "dependency": {"type": "sql"}})
    assert response.status == 201, await response.text()
    shown = await response.json()
    assert shown["registration"]["dependencies"] == ["postgres"], shown
    assert "dependency" not in shown["registration"]
