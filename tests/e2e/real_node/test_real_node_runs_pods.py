"""Pods on the real node really run: logs through the API server, Service names through CoreDNS and
kube-proxy, redis answering over the pod network. Images come from the plane's registry (built here)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.kubeapi import KubeAPI, poll
from tests.e2e.real_node.conftest import RealNode, pod_phase

pytestmark = pytest.mark.e2e


async def pod_log(kube: KubeAPI, namespace: str, name: str) -> str:
    status, body = await kube.request("GET", f"/api/v1/namespaces/{namespace}/pods/{name}/log")
    assert status == 200, f"logs of {namespace}/{name}: {status} {body}"
    return str(body)


async def test_pod_output_reaches_the_api_server(kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    marker = f"hello-{uuid.uuid4().hex}"
    pod = real_node.pod("say", "busybox", ["sh", "-c", f"echo {marker}; echo uid=$(id -u)"],
                        restartPolicy="Never")
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", pod)

    done = await pod_phase(kube, namespace, "say", ("Succeeded", "Failed"), 120)

    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["spec"]["nodeName"] == real_node.name
    assert (await pod_log(kube, namespace, "say")).split() == [marker, "uid=0"]


async def test_service_name_resolves_and_answers_from_another_pod(
        kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    marker = f"served-{uuid.uuid4().hex}"
    server = real_node.pod("web", "busybox", [
        "sh", "-c", f"mkdir -p /www && echo {marker} > /www/index.html && exec httpd -f -p 8080 -h /www"])
    server["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", server)
    service = await kube.create(f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    await pod_phase(kube, namespace, "web", ("Ready",), 120)
    fqdn = f"web.{namespace}.svc.cluster.local"
    client = real_node.pod("client", "busybox", ["sh", "-c", (
        # the answer's address (the first Address line is the DNS server's)
        f"nslookup {fqdn} | sed -n 's/^Address: *//p' | tail -n 1; "
        # the short name goes through the search path of the pod's resolv.conf; Debian's busybox wget
        # has no -T (it crashes on it), hence timeout
        f"for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -q -O - http://web.{namespace}.svc/ && exit 0;"
        " sleep 1; done; exit 1")], restartPolicy="Never")
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", client)

    done = await pod_phase(kube, namespace, "client", ("Succeeded", "Failed"), 120)

    lines = (await pod_log(kube, namespace, "client")).split()
    assert done["status"]["phase"] == "Succeeded", lines
    assert lines[0] == service["spec"]["clusterIP"], lines
    assert lines[-1] == marker


async def test_redis_pod_answers_ping_over_its_service(kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    redis = real_node.pod("redis", "redis", ["redis-server", "--protected-mode", "no", "--save", ""])
    redis["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 6379}, "periodSeconds": 1}
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", redis)
    await kube.create(f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis"},
        "spec": {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}})
    await pod_phase(kube, namespace, "redis", ("Ready",), 180)
    # The absolute name (trailing dot): while the cluster's DNS has not yet seen the new Service, a short name
    # falls through the search path to the host's resolver, and whatever that names answered once (an HTTP 400).
    # Only redis's own reply ends the loop; anything else is printed and tried again.
    client = real_node.pod("ping", "busybox", ["sh", "-c", (
        "for i in 1 2 3 4 5 6 7 8 9 10; do"
        f" r=$(printf 'PING\\r\\n' | nc -w 2 redis.{namespace}.svc.cluster.local. 6379);"
        " case \"$r\" in +PONG*) echo +PONG; exit 0;; esac; echo \"not redis: $r\" >&2;"
        " sleep 1; done; exit 1")], restartPolicy="Never")
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", client)

    done = await pod_phase(kube, namespace, "ping", ("Succeeded", "Failed"), 120)

    output = await pod_log(kube, namespace, "ping")
    assert done["status"]["phase"] == "Succeeded", output
    assert output.splitlines()[-1] == "+PONG", output  # lines before it: answers that were not redis's


async def test_postgres_pod_initialises_and_serves_sql_over_its_service(
        kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    env = [{"name": "POSTGRES_USER", "value": "app"}, {"name": "POSTGRES_PASSWORD", "value": "s3cret"},
           {"name": "POSTGRES_DB", "value": "appdb"}]
    server = real_node.pod("postgres", "postgres", ["/usr/local/bin/postgres-entrypoint"])
    server["spec"]["containers"][0].update(
        env=env, readinessProbe={"tcpSocket": {"port": 5432}, "periodSeconds": 1})
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", server)
    await kube.create(f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "postgres"},
        "spec": {"selector": {"app": "postgres"}, "ports": [{"port": 5432}]}})
    await pod_phase(kube, namespace, "postgres", ("Ready",), 180)
    url = f"postgresql://app:s3cret@postgres.{namespace}.svc:5432/appdb"
    client = real_node.pod("psql", "postgres", ["sh", "-c", (
        f"for i in 1 2 3 4 5 6 7 8 9 10; do psql '{url}' -tAc 'select 1' >/dev/null && break; sleep 1; done;"
        f" psql '{url}' -v ON_ERROR_STOP=1 -tAc"
        " 'create table visits (n int); insert into visits values (41), (1); select sum(n) from visits'")],
        restartPolicy="Never")
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", client)

    done = await pod_phase(kube, namespace, "psql", ("Succeeded", "Failed"), 120)

    output = await pod_log(kube, namespace, "psql")
    assert done["status"]["phase"] == "Succeeded", output
    assert output.split()[-1] == "42"


async def test_pods_without_the_toleration_stay_on_kwok(kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    pod = real_node.pod("fake", "busybox", ["true"])
    del pod["spec"]["nodeSelector"], pod["spec"]["tolerations"]
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", pod)

    async def scheduled() -> str | None:
        found = await kube.get(f"/api/v1/namespaces/{namespace}/pods/fake") or {}
        node: str | None = found.get("spec", {}).get("nodeName")
        return node

    assert await poll("the pod scheduled", scheduled, 60) == "kwok-node-0"
