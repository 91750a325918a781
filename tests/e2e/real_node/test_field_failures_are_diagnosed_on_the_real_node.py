"""The field's failures on the real node, as a user reads them from `GET /runs/{id}` (no kubectl): a Dockerfile
that fails to build ends the run at `build` with Kaniko's error line; an app that crash-loops ends it at
`app` with its exit code and last log lines, before the ready timeout; a dependency image whose registry
host the node cannot resolve ends it at `dependency` naming the host, and once containerd is told where that
host is, a redeploy of the same run succeeds."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import serving
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.real_node.conftest import RealNode, ctl_env
from tests.e2e.real_node.gitserver import commit_repository, serve_git_daemon
from tests.e2e.real_node.sampleapp import files
from tests.e2e.runner import Runner
from tests.e2e.workspace import new_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

FAILS_TO_BUILD = """FROM {base}
RUN python3 -c "import sys; print('checking the toolchain', flush=True); sys.exit(7)"
"""
CRASHES = """FROM {base}
RUN printf '%s\\n' 'import sys' 'print("connecting to db:5432", flush=True)' \\
    'print("fatal: DATABASE_URL is not set", flush=True)' 'sys.exit(3)' > /crash.py
CMD ["python3", "/crash.py"]
"""


@asynccontextmanager
async def git_source(real_node: RealNode, tmp_path: Path, repository: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    served = tmp_path / "served"
    served.mkdir()
    commit_repository(tmp_path / "work", repository, served / "app.git")
    async with serve_git_daemon(served, real_node.registry.split(":")[0]) as git_url:
        yield {"type": "git", "url": f"{git_url}/app.git", "revision": "main"}


def run_spec(source: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"workspace": new_workspace("diag"), "app": {"name": "web", "port": 8080}, "source": source,
            "dependency": {"type": "none"}, **extra}


async def test_a_dockerfile_that_fails_to_build_fails_the_run_at_build_with_kanikos_error_line(
        real_node: RealNode, real_runner: Runner, tmp_path: Path) -> None:
    async with git_source(real_node, tmp_path, {"Dockerfile": FAILS_TO_BUILD.format(
            base=real_node.at_relay("python"))}) as source:
        run_id = await real_runner.post_run(run_spec(source))
        run = await real_runner.wait_terminal(run_id, within=600)

    assert run["state"] == "failed" and run["reason"].startswith("build:"), run
    message = run["message"]
    assert "step build-and-push failed with exit code" in message, message
    assert "checking the toolchain" in message, message  # the RUN step's own output
    assert "error building image" in message and "exit status 7" in message, message


async def test_an_app_that_crash_loops_fails_at_app_with_its_exit_code_and_last_log_lines(
        real_node: RealNode, real_runner: Runner, tmp_path: Path) -> None:
    async with git_source(real_node, tmp_path, {"Dockerfile": CRASHES.format(
            base=real_node.at_relay("python"))}) as source:
        run_id = await real_runner.post_run(run_spec(source))
        run = await real_runner.wait_terminal(run_id, within=600)

    assert run["state"] == "failed" and run["reason"] == "app:AppCrashLooping", run
    message = run["message"]
    assert "container app keeps crashing" in message and "exit code 3 (Error)" in message, message
    assert "connecting to db:5432\nfatal: DATABASE_URL is not set" in message, message
    app = next(step for step in run["steps"] if step["name"] == "app")
    assert "not ready after" not in app["message"]  # diagnosed, not timed out


@asynccontextmanager
async def runner_with(real_tier: dict[str, str], kube: KubeAPI, data: Path, **env: str) -> AsyncIterator[Runner]:
    settings = {**real_tier, **env}
    async with serving(kube, Runner(settings, data, settings=settings)) as proc:
        yield proc


async def test_an_unresolvable_registry_host_is_named_and_a_redeploy_after_the_node_is_told_succeeds(
        real_node: RealNode, real_tier: dict[str, str], kube: KubeAPI, tmp_path: Path) -> None:
    host = f"registry-{uuid.uuid4().hex[:8]}.invalid"
    registry_port = real_node.registry.rsplit(":", 1)[1]
    redis = f"{host}:{registry_port}/{real_node.at_relay('redis').partition('/')[2]}"
    certs = Path(ctl_env("node", "env")["TEKTON_RUNNER_NODE_DIR"]) / "containerd" / "certs.d" / (
        f"{host}:{registry_port}")
    async with runner_with(real_tier, kube, tmp_path / "runner", TEKTON_RUNNER_REDIS_IMAGE=redis) as runner, \
            git_source(real_node, tmp_path, files(real_node.at_relay("python"), "hello")) as source:
        run_id = await runner.post_run(run_spec(source, dependency={"type": "redis"}))
        failed = await runner.wait_terminal(run_id, within=600)

        assert failed["state"] == "failed" and failed["reason"] == "dependency:DependencyImageHostUnresolvable", failed
        message = failed["message"]
        assert f"cannot pull image {redis}" in message, message
        assert f"the node cannot resolve the registry host {host!r}" in message, message
        assert f"lookup {host}" in message and "no such host" in message, message  # the kubelet's own words
        assert "/etc/hosts" in message and f"POST /runs/{run_id}/redeploy" in message, message

        # the node is told where that host is: containerd's hosts.toml for it, pointing at the plane's registry
        certs.mkdir(parents=True)
        try:
            (certs / "hosts.toml").write_text(
                f'server = "http://{real_node.registry}"\n\n[host."http://{real_node.registry}"]\n'
                '  capabilities = ["pull", "resolve"]\n')
            again = await runner.session.post(f"{runner.base_url}/runs/{run_id}/redeploy")
            assert again.status == 202, await again.text()
            redeployed = await runner.wait_terminal((await again.json())["run_id"], within=300)
        finally:
            shutil.rmtree(certs)

    assert redeployed["state"] == "succeeded" and redeployed["redeploy_of"] == run_id, redeployed
