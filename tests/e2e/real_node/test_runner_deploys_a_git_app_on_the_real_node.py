"""The runner's whole flow on the real node, as a user sees it: `tekton-runner submit --follow` of a git
run with redis and postgres and a migration prints Kaniko's own log lines while the build runs and every
step, and exits 0; the pushed digest is the registry's and the app's pod runs it; the migration Job
created a table through DATABASE_URL; and an HTTP request to the runner's external port gets the app's
answer, which shows it reached redis and read that table."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.kubeapi import KubeAPI, taskrun_path
from tests.e2e.real_node.conftest import REAL_BUILD_NAMESPACE, RealNode
from tests.e2e.real_node.gitserver import commit_repository, serve_git_daemon
from tests.e2e.real_node.sampleapp import files
from tests.e2e.real_node.test_build_task_pushes_the_digest_it_reports import registry_digest
from tests.e2e.runner import Runner
from tests.e2e.workspace import new_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # a cold first run builds Kaniko and pulls every image

APP = "web"
STEPS = ("build", "dependency", "migration", "app", "forward")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


async def submit_follow(runner: Runner, run_file: Path) -> tuple[int, list[str]]:
    """The CLI as a user runs it, output piped (plain lines), until the run ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tekton_runner.cli", "submit", str(run_file), "--url", runner.base_url, "--follow",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 1500)
    return process.returncode or 0, out.decode(errors="replace").splitlines()


async def http_get_json(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, session.get(url) as resp:
        assert resp.status == 200, f"GET {url}: {resp.status} {await resp.text()}"
        body: dict[str, Any] = await resp.json(content_type=None)
        return body


async def test_submit_follow_of_a_git_run_deploys_an_app_that_answers_over_the_external_port(
        kube: KubeAPI, real_node: RealNode, real_runner: Runner, tmp_path: Path) -> None:
    workspace, greeting = new_workspace("real"), f"hello from the migration {uuid.uuid4().hex[:8]}"
    served = tmp_path / "served"
    served.mkdir()
    commit = commit_repository(tmp_path / "work", files(real_node.at_relay("python"), greeting), served / "app.git")
    run_file = tmp_path / "run.yaml"
    async with serve_git_daemon(served, real_node.registry.split(":")[0]) as git_url:
        run_file.write_text(json.dumps({
            "workspace": workspace, "app": {"name": APP, "port": 8080},
            "source": {"type": "git", "url": f"{git_url}/app.git", "revision": "main"},
            "dependency": {"type": "both"},
            "migration": {"enabled": True, "command": ["python3", "/app/migrate.py"]},
        }))
        code, lines = await submit_follow(real_runner, run_file)
    text = "\n".join(lines)
    assert code == 0, f"{text}\n{await real_runner.log_tail()}"

    # every step, and Kaniko's own lines printed while the build ran (before the build step ended)
    for step in STEPS:
        states = [line for line in lines if line.startswith(f"{step}: ")]
        assert states and states[-1].startswith(f"{step}: succeeded"), text
    run_id = lines[-1].split()[1]
    run = await real_runner.get_run(run_id)
    # over the network, as a user, at once: `succeeded` means the NodePort behind the external port accepts
    # connections, so the first request is answered (the app reached redis and read the row the migration
    # wrote into the table it created)
    first = await http_get_json(f"http://{run['endpoint']['external']}/")
    repository = f"{real_node.registry}/library/{workspace}-{APP}"
    plain = [ANSI.sub("", line) for line in lines]  # Kaniko colours its level names
    kaniko = [i for i, line in enumerate(plain) if line.startswith("[build-and-push] INFO[")]
    assert any(f"Pushed {repository}@{run['digest']}" in plain[i] for i in kaniko), text
    assert kaniko[0] < lines.index(next(line for line in lines if line.startswith("build: succeeded"))), text
    assert any(line.startswith("[fetch-source] ") and "fetch-source: context" in line for line in lines), text

    assert run["state"] == "succeeded", run
    # the digest the run deploys is the one the registry holds for the pushed tag
    assert run["digest"] == await registry_digest(real_node.registry, f"library/{workspace}-{APP}", run_id)
    taskrun = await kube.get(taskrun_path(REAL_BUILD_NAMESPACE, f"build-{run_id}"))
    assert taskrun is not None
    build_pod = await kube.get(f"/api/v1/namespaces/{REAL_BUILD_NAMESPACE}/pods/{taskrun['status']['podName']}")
    assert build_pod is not None and build_pod["spec"]["nodeName"] == real_node.name
    assert {r["name"]: r["value"] for r in taskrun["status"]["results"]}["SOURCE_REVISION"] == commit

    # the app's pod runs on the real node, from the built digest
    namespace = f"ws-{workspace}"
    pods = await kube.list(f"/api/v1/namespaces/{namespace}/pods")
    by_component = {p["metadata"]["labels"].get("app.kubernetes.io/component"): p for p in pods}
    assert {"redis", "postgres", "migration", "app"} <= set(by_component), sorted(map(str, by_component))
    assert all(p["spec"]["nodeName"] == real_node.name for p in pods), [p["spec"].get("nodeName") for p in pods]
    (app_status,) = by_component["app"]["status"]["containerStatuses"]
    assert app_status["ready"] and app_status["imageID"].endswith(f"@{run['digest']}"), app_status
    migration = by_component["migration"]
    assert migration["status"]["phase"] == "Succeeded"

    endpoint = await http_get_json(f"{real_runner.base_url}/endpoint?workspace={workspace}&app={APP}")
    assert endpoint["run_id"] == run_id and endpoint["external"]["reachable"] is True, endpoint
    external = endpoint["external"]["address"]
    assert external == run["endpoint"]["external"], endpoint
    second = await http_get_json(f"http://{external}/")
    assert first["greetings"] == [greeting] and first["built_by"] == "kaniko", first
    assert second["visits"] == first["visits"] + 1, (first, second)
