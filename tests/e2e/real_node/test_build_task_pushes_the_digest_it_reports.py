"""The runner's build Task, run for real on the real node: the fetch step clones a git repository served
over smart HTTP, Kaniko (built here from upstream's module) builds its Dockerfile on the Python base
image and pushes to the plane's registry, the digest in the TaskRun's results is the registry's, and
the image it pushed runs."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI, condition, taskrun_path
from tests.e2e.real_node.buildtask import run_build
from tests.e2e.real_node.conftest import RealNode, pod_phase
from tests.e2e.real_node.test_real_node_runs_pods import pod_log

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # the first run builds Kaniko from its module

MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

APP = """import platform
print(open("/built-by").read().strip(), "{marker}", platform.python_version())
"""


def dockerfile(base: str) -> str:
    # a RUN step, so the build really executes a command inside the base image
    return (f"FROM {base}\n"
            "RUN python3 -c \"open('/built-by', 'w').write('built-by-kaniko')\"\n"
            "COPY app.py /app/app.py\n"
            'CMD ["python3", "/app/app.py"]\n')


async def registry_digest(registry_host: str, repository: str, tag: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(
            f"http://{registry_host}/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}) as resp:
        assert resp.status == 200, await resp.text()
        return resp.headers["Docker-Content-Digest"]


async def test_build_task_on_the_real_node_pushes_the_digest_it_reports(
        kube: KubeAPI, cluster: Cluster, real_node: RealNode, namespace: str, tmp_path: Path) -> None:
    marker = f"app-{uuid.uuid4().hex[:12]}"
    base = real_node.images["python"].replace(cluster.registry_host, real_node.registry, 1)
    build_ns, name = cluster.build_namespace, f"real-build-{uuid.uuid4().hex[:8]}"
    repository, tag = f"library/{name}", "v1"
    await kube.create(f"/api/v1/namespaces/{build_ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": {"config.json": '{"auths": {}}'}})
    try:
        done, commit = await run_build(
            kube, real_node, build_ns, name, {"Dockerfile": dockerfile(base), "app.py": APP.format(marker=marker)},
            tmp_path, params=[
                {"name": "IMAGE", "value": f"{real_node.registry}/{repository}:{tag}"},
                # the plane's registry speaks plain HTTP
                {"name": "EXTRA_ARGS", "value": [f"--insecure-registry={real_node.registry}"]},
            ],
            workspaces=[{"name": "dockerconfig", "secret": {"secretName": name}}])

        status = done["status"]
        assert condition(done, "Succeeded")["status"] == "True", condition(done, "Succeeded")
        results = {r["name"]: r["value"] for r in status["results"]}
        pod = await kube.get(f"/api/v1/namespaces/{build_ns}/pods/{status['podName']}")
        assert pod is not None and pod["spec"]["nodeName"] == real_node.name
        assert results["SOURCE_REVISION"] == commit
        assert results["IMAGE_URL"] == f"{real_node.registry}/{repository}:{tag}"
        assert results["IMAGE_DIGEST"] == await registry_digest(cluster.registry_host, repository, tag)

        app = real_node.pod("app", "busybox", [], restartPolicy="Never")
        app["spec"]["containers"][0] = {"name": "main",
                                        "image": f"{real_node.registry}/{repository}@{results['IMAGE_DIGEST']}"}
        await kube.create(f"/api/v1/namespaces/{namespace}/pods", app)
        ran = await pod_phase(kube, namespace, "app", ("Succeeded", "Failed"), 180)

        output = (await pod_log(kube, namespace, "app")).split()
        assert ran["status"]["phase"] == "Succeeded", output
        assert output[:2] == ["built-by-kaniko", marker]
    finally:
        await kube.delete(f"{taskrun_path(build_ns, name)}")
        await kube.delete(f"/api/v1/namespaces/{build_ns}/secrets/{name}")
