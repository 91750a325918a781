"""The registry as Harbor is met in the field: the runner's build Task pushes to it by host name over TLS
with the robot account's docker config and the site CA in its registry-ca workspace (no insecure
registry, no skipped verification); the digest it reports is the registry's; a pod pulls the image by
host name with the robot account as its imagePullSecret and runs it; without credentials the registry
refuses the pull."""

from __future__ import annotations

import base64
import ssl
import uuid
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI, condition, poll, taskrun_path
from tests.e2e.real_node.buildtask import run_build
from tests.e2e.real_node.conftest import Harbor, RealNode, pod_phase
from tests.e2e.real_node.test_build_task_pushes_the_digest_it_reports import (
    APP,
    MANIFEST_TYPES,
    dockerfile,
)
from tests.e2e.real_node.test_real_node_runs_pods import pod_log

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # the first run builds Kaniko from its module


async def manifest(harbor: Harbor, repository: str, tag: str, auth: bool) -> tuple[int, str]:
    """GET the manifest over TLS, trusting only the plane's CA: (status, Docker-Content-Digest)."""
    context = ssl.create_default_context(cafile=str(harbor.ca))
    headers = {"Accept": MANIFEST_TYPES}
    if auth:
        basic = base64.b64encode(f"{harbor.username}:{harbor.password}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    async with aiohttp.ClientSession() as session, session.get(
            f"https://{harbor.address}/v2/{repository}/manifests/{tag}", ssl=context, headers=headers) as resp:
        return resp.status, resp.headers.get("Docker-Content-Digest", "")


async def pull_failure(kube: KubeAPI, namespace: str, name: str, within: float) -> str:
    """The message of the pod's first failed pull, as `kubectl describe` shows it: ErrImagePull's, or the
    ImagePullBackOff that follows it, whose message carries the ErrImagePull's."""
    async def probe() -> str | None:
        pod = await kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}") or {}
        for status in pod.get("status", {}).get("containerStatuses", []):
            waiting = status.get("state", {}).get("waiting", {})
            message = str(waiting.get("message", ""))
            if waiting.get("reason") == "ErrImagePull" or "ErrImagePull: " in message:
                return message
        return None
    return await poll(f"ErrImagePull of pod {namespace}/{name}", probe, within)


async def test_build_pushes_to_harbor_by_host_name_and_a_pod_pulls_it_with_the_robot_account(
        kube: KubeAPI, cluster: Cluster, real_node: RealNode, harbor: Harbor, namespace: str,
        tmp_path: Path) -> None:
    marker = f"app-{uuid.uuid4().hex[:12]}"
    name = f"harbor-build-{uuid.uuid4().hex[:8]}"
    build_ns, repository = cluster.build_namespace, f"library/{name}"
    # the Secret an operator makes for the robot account, and the site CA as key ca.crt
    await kube.create(f"/api/v1/namespaces/{build_ns}/secrets", harbor.pull_secret(name))
    await kube.create(f"/api/v1/namespaces/{build_ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": {"ca.crt": harbor.ca.read_text()}})
    try:
        files = {"Dockerfile": dockerfile(harbor.image(real_node.images["python"])),
                 "app.py": APP.format(marker=marker)}
        done, commit = await run_build(kube, real_node, build_ns, name, files, tmp_path, params=[
            {"name": "IMAGE", "value": f"{harbor.address}/{repository}:v1"},
            {"name": "REGISTRY_HOST", "value": harbor.address},  # what triggers/settings.env's harbor_host sets
        ], workspaces=[  # as the runner's TriggerTemplate binds them
            {"name": "dockerconfig", "secret": {
                "secretName": name, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}},
            {"name": "registry-ca", "configMap": {"name": name}},
        ])
        assert condition(done, "Succeeded")["status"] == "True", condition(done, "Succeeded")
        results = {r["name"]: r["value"] for r in done["status"]["results"]}
        assert results["SOURCE_REVISION"] == commit
        assert results["IMAGE_URL"] == f"{harbor.address}/{repository}:v1"
        assert await manifest(harbor, repository, "v1", auth=True) == (200, results["IMAGE_DIGEST"])
        assert (await manifest(harbor, repository, "v1", auth=False))[0] == 401

        image = f"{harbor.address}/{repository}@{results['IMAGE_DIGEST']}"
        await kube.create(f"/api/v1/namespaces/{namespace}/secrets", harbor.pull_secret("harbor-pull"))
        app = real_node.pod("app", "busybox", [], restartPolicy="Never", imagePullSecrets=[{"name": "harbor-pull"}])
        app["spec"]["containers"][0] = {"name": "main", "image": image}
        await kube.create(f"/api/v1/namespaces/{namespace}/pods", app)
        ran = await pod_phase(kube, namespace, "app", ("Succeeded", "Failed"), 180)
        output = (await pod_log(kube, namespace, "app")).split()
        assert ran["status"]["phase"] == "Succeeded", output
        assert output[:2] == ["built-by-kaniko", marker]

        anonymous = real_node.pod("anonymous", "busybox", [], restartPolicy="Never")
        # Always: the node holds the image by now, so only a pull asks the registry again
        anonymous["spec"]["containers"][0] = {"name": "main", "image": image, "imagePullPolicy": "Always"}
        await kube.create(f"/api/v1/namespaces/{namespace}/pods", anonymous)
        refused = await pull_failure(kube, namespace, "anonymous", 120)
        assert "401 Unauthorized" in refused, refused
    finally:
        await kube.delete(taskrun_path(build_ns, name))
        await kube.delete(f"/api/v1/namespaces/{build_ns}/secrets/{name}")
        await kube.delete(f"/api/v1/namespaces/{build_ns}/configmaps/{name}")
