"""A run asking for `dependencies: ["rabbitmq"]` deploys the broker beside the app and gives the app its
AMQP_URL from the credentials Secret; a redeploy keeps the password; the migration gets every kind's env."""

from __future__ import annotations

import base64
from typing import Any

from tests.integration.harness import Harness, spec


def body(**fields: Any) -> dict[str, Any]:
    request = spec(**{"migration": {"enabled": False}, **fields})
    request.pop("dependency")
    return request


def secret_values(harness: Harness) -> dict[str, str]:
    secret = harness.fake.get_object("secrets", "shop-deps", "ws-demo")
    assert secret is not None
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def env_of(obj: dict[str, Any] | None) -> dict[str, Any]:
    assert obj is not None
    return {item["name"]: item for item in obj["spec"]["template"]["spec"]["containers"][0]["env"]}


async def test_rabbitmq_is_deployed_and_the_app_reads_amqp_url_from_the_secret(harness: Harness) -> None:
    run = await harness.run_to_success(body(dependencies=["rabbitmq"]))
    fake = harness.fake

    broker = fake.get_object("deployments", "shop-rabbitmq", "ws-demo")
    assert broker is not None
    assert broker["metadata"]["labels"]["app.kubernetes.io/component"] == "rabbitmq"
    assert broker["spec"]["template"]["spec"]["containers"][0]["image"] == "rabbitmq:4-alpine"
    service = fake.get_object("services", "shop-rabbitmq", "ws-demo")
    assert service is not None and [p["port"] for p in service["spec"]["ports"]] == [5672]
    for absent in ("shop-redis", "shop-postgres"):
        assert fake.get_object("deployments", absent, "ws-demo") is None, absent

    values = secret_values(harness)
    password = values["RABBITMQ_PASSWORD"]
    assert values["AMQP_URL"] == f"amqp://app:{password}@shop-rabbitmq.ws-demo.svc:5672/%2F"
    env = env_of(fake.get_object("deployments", "shop", "ws-demo"))
    for key in ("AMQP_URL", "RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_PASSWORD"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "shop-deps", "key": key}
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
    broker_env = env_of(broker)
    assert broker_env["RABBITMQ_DEFAULT_PASS"]["valueFrom"]["secretKeyRef"]["key"] == "RABBITMQ_PASSWORD"

    assert run["spec"]["dependencies"] == ["rabbitmq"] and "dependency" not in run["spec"]
    step = next(s for s in run["steps"] if s["name"] == "dependency")
    assert step["state"] == "succeeded" and "shop-rabbitmq" in step["message"]

    await harness.run_to_success(body(dependencies=["rabbitmq"]))
    assert secret_values(harness)["AMQP_URL"] == values["AMQP_URL"]  # the broker's password is kept


async def test_migration_gets_the_env_of_every_requested_kind(harness: Harness) -> None:
    await harness.run_to_success(body(dependencies=["postgres", "rabbitmq"],
                                      migration={"enabled": True, "command": ["./manage.py", "migrate"]}))
    jobs = harness.fake.objects("jobs", "ws-demo")
    assert len(jobs) == 1
    env = env_of(jobs[0])
    assert {"DATABASE_URL", "PGPASSWORD", "AMQP_URL", "RABBITMQ_PASSWORD"} <= env.keys()
    assert "REDIS_URL" not in env
    for name in ("shop-postgres", "shop-rabbitmq"):
        assert harness.fake.get_object("deployments", name, "ws-demo") is not None, name
