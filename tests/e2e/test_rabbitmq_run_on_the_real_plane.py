"""A run asking for rabbitmq, end to end on the local plane: the broker's Deployment becomes Available,
its Service and the credentials Secret are in the real API server, and the app reads AMQP_URL from it."""

from __future__ import annotations

import base64

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.runner import Runner, run_spec
from tests.e2e.workspace import available, new_workspace

pytestmark = pytest.mark.e2e

APP = "mq"


async def test_run_with_rabbitmq_deploys_the_broker_and_gives_the_app_amqp_url(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    workspace = new_workspace()
    ns = f"ws-{workspace}"
    spec = run_spec(workspace, APP)
    spec.pop("dependency")
    spec.update(dependencies=["rabbitmq"], migration={"enabled": False})
    run_id = await runner.post_run(spec)

    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    assert run["spec"]["dependencies"] == ["rabbitmq"]

    broker = await available(kube, ns, f"{APP}-rabbitmq")
    assert broker["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id
    pod = broker["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["tcpSocket"]["port"] == "amqp"
    service = await kube.get(f"/api/v1/namespaces/{ns}/services/{APP}-rabbitmq")
    assert service is not None and [p["port"] for p in service["spec"]["ports"]] == [5672]
    for absent in ("redis", "postgres"):
        assert await kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{APP}-{absent}") is None

    secret = await kube.get(f"/api/v1/namespaces/{ns}/secrets/{APP}-deps")
    assert secret is not None
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data["AMQP_URL"] == f"amqp://app:{data['RABBITMQ_PASSWORD']}@{APP}-rabbitmq.{ns}.svc:5672/%2F"

    app = await available(kube, ns, APP)
    env = {item["name"]: item for item in app["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AMQP_URL"]["valueFrom"]["secretKeyRef"] == {"name": f"{APP}-deps", "key": "AMQP_URL"}
    assert "DATABASE_URL" not in env and "REDIS_URL" not in env
