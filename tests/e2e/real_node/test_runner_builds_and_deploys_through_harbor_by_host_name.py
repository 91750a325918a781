"""The runner's flow against the registry as Harbor is met in the field: a build namespace of its own whose
registry Secret holds the robot account and whose `tekton-runner-registry-ca` ConfigMap holds the site's
CA (no insecure registry anywhere), a runner whose `TEKTON_RUNNER_REGISTRY` is the host name over TLS
with the robot's credentials and the CA file. Kaniko pulls the base image from Harbor and pushes the
app there, the runner verifies the digest over TLS, the node pulls the app with the pull Secret the
runner gives the workspace, and the app answers on the external port. The same with the Buildah variant of
the build Task (Debian's buildah, privileged, vfs storage, RUN steps isolated by chroot)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import serving
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.real_node.conftest import Harbor, RealNode, build_pod_template, ctl_env
from tests.e2e.real_node.gitserver import commit_repository, serve_git_daemon
from tests.e2e.real_node.sampleapp import PLAIN_ANSWER_BUILT_BY, plain_files
from tests.e2e.real_node.test_build_pushes_to_harbor_by_host_name import manifest
from tests.e2e.real_node.test_zip_and_local_sources_answer_on_the_real_node import APP, answer
from tests.e2e.runner import Runner
from tests.e2e.workspace import new_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]



async def put(kube: KubeAPI, path: str, obj: dict[str, Any]) -> None:
    """Replace the object at `path` (the listener creates the registry Secret empty)."""
    await kube.delete(f"{path}/{obj['metadata']['name']}")
    await kube.create(path, obj)


@asynccontextmanager
async def harbor_runner(real_tier: dict[str, str], real_node: RealNode, harbor: Harbor, kube: KubeAPI,
                        tmp_path: Path, *builder: str) -> AsyncIterator[Runner]:
    """A build namespace of its own set up for Harbor as triggers.md tells operators (`builder`: the
    listener's name, namespace and settings), and a runner on it."""
    name, namespace, *sets = builder
    patches = tmp_path / "patches.json"
    patches.write_text(json.dumps(build_pod_template(real_node)))
    listener = ctl_env(
        "listener", "up", name, "--set", f"build_namespace={namespace}", "--set", f"harbor_host={harbor.address}",
        "--set", f"fetch_image={real_node.at_relay('fetch')}", *(arg for s in sets for arg in ("--set", s)),
        "--component", "step-images", "--patches", str(patches))
    namespaced = f"/api/v1/namespaces/{namespace}"
    await put(kube, f"{namespaced}/secrets", harbor.pull_secret("tekton-runner-registry"))
    await put(kube, f"{namespaced}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tekton-runner-registry-ca"},
        "data": {"ca.crt": harbor.ca.read_text()}})
    settings = {
        **real_tier, **listener,
        "TEKTON_RUNNER_REGISTRY": f"{harbor.address}/library", "TEKTON_RUNNER_REGISTRY_HOST": harbor.address,
        "TEKTON_RUNNER_REGISTRY_HTTP": "false", "TEKTON_RUNNER_REGISTRY_SCHEME": "https",
        "TEKTON_RUNNER_REGISTRY_USERNAME": harbor.username, "TEKTON_RUNNER_REGISTRY_PASSWORD": harbor.password,
        "TEKTON_RUNNER_REGISTRY_CA_FILE": str(harbor.ca),
    }
    async with serving(kube, Runner(settings, tmp_path / "runner", settings=settings)) as proc:
        yield proc


async def built_and_answering(runner: Runner, real_node: RealNode, harbor: Harbor, tmp_path: Path) -> None:
    """A git run built into Harbor: its digest is Harbor's, and the app answers on its external port."""
    marker, workspace = f"harbor-{uuid.uuid4().hex[:10]}", new_workspace("harbor")
    served = tmp_path / "served"
    served.mkdir()
    commit_repository(tmp_path / "work", plain_files(harbor.image(real_node.images["python"]), marker),
                      served / "app.git")
    async with serve_git_daemon(served, real_node.registry.split(":")[0]) as git_url:
        run_id = await runner.post_run({
            "workspace": workspace, "app": {"name": APP, "port": 8080},
            "source": {"type": "git", "url": f"{git_url}/app.git", "revision": "main"}})
        run = await runner.wait_terminal(run_id, within=600)
    assert run["state"] == "succeeded", f"{run}\n{await runner.log_tail()}"
    answered = await answer(run["endpoint"]["external"])  # once, right after `succeeded`

    # pushed to Harbor by host name: the run's digest is the one Harbor serves the robot account over TLS
    assert run["image"].startswith(f"{harbor.address}/library/"), run["image"]
    status, digest = await manifest(harbor, f"library/{workspace}-{APP}", run_id, auth=True)
    assert (status, digest) == (200, run["digest"])

    assert answered == {"marker": marker, "built_by": PLAIN_ANSWER_BUILT_BY}


async def test_a_git_run_is_built_by_kaniko_into_harbor_by_host_name_and_answers_on_its_external_port(
        real_tier: dict[str, str], real_node: RealNode, harbor: Harbor, kube: KubeAPI, tmp_path: Path) -> None:
    async with harbor_runner(real_tier, real_node, harbor, kube, tmp_path, "harbor", "tekton-builds-harbor",
                             f"builder_image={real_node.at_relay('kaniko')}") as runner:
        await built_and_answering(runner, real_node, harbor, tmp_path)


async def test_a_git_run_is_built_by_buildah_into_harbor_by_host_name_and_answers_on_its_external_port(
        real_tier: dict[str, str], real_node: RealNode, harbor: Harbor, kube: KubeAPI, tmp_path: Path) -> None:
    async with harbor_runner(real_tier, real_node, harbor, kube, tmp_path, "buildah", "tekton-builds-buildah",
                             "build_task=tekton-runner-build-buildah", "build_pod_security=privileged",
                             f"builder_image={real_node.at_relay('buildah')}") as runner:
        await built_and_answering(runner, real_node, harbor, tmp_path)
