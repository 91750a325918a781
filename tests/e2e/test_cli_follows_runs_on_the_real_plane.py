"""`tekton-runner submit --follow` against the real runner on the local plane: each step printed as it
happens, exit code 0 on success, non-zero naming the failing step otherwise."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.runner import Runner
from tests.e2e.workspace import held_pod, new_workspace, settle_held_pods

pytestmark = pytest.mark.e2e


async def submit_follow(runner: Runner, workspace: str) -> asyncio.subprocess.Process:
    """The CLI as a user runs it, output piped (plain lines)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tekton_runner.cli", "submit", "--url", runner.base_url, "--workspace", workspace,
        "--app", "web", "--git", "https://git.invalid/shop/web.git", "--follow",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def finished(process: asyncio.subprocess.Process, within: float = 180) -> tuple[int, list[str]]:
    out, err = await asyncio.wait_for(process.communicate(), within)
    return process.returncode or 0, out.decode().splitlines() + err.decode().splitlines()


async def test_submit_follow_prints_every_step_and_exits_0(runner: Runner) -> None:
    code, lines = await finished(await submit_follow(runner, new_workspace()))
    assert code == 0, "\n".join(lines)
    ended = {"build": "succeeded", "dependency": "skipped", "migration": "skipped", "app": "succeeded",
             "forward": "succeeded"}  # no --dependency, no migration: those two are skipped
    for step, state in ended.items():
        states = [line for line in lines if line.startswith(f"{step}: ")]
        assert states and states[-1].startswith(f"{step}: {state}"), lines
    assert "\n".join(lines).index("build: succeeded") < "\n".join(lines).index("app: running")
    assert lines[-1].startswith("run r-") and " succeeded" in lines[-1], lines


async def test_submit_follow_of_a_failed_build_exits_non_zero_naming_the_build(
        cluster: Cluster, kube: KubeAPI, runner: Runner) -> None:
    process = await submit_follow(runner, new_workspace("hold"))  # kwok holds the build pod until told
    await held_pod(kube, cluster.build_namespace, "TaskRun")
    await settle_held_pods(kube, cluster.build_namespace, "TaskRun", "fail")
    code, lines = await finished(process)
    assert code == 1, "\n".join(lines)
    # the outcome comes last: its first line names the step, the lines after it the failed step's detail
    outcome = max(i for i, line in enumerate(lines) if "failed at step build" in line)
    assert lines[outcome].startswith("run ") and not any(
        line.startswith("build: ") for line in lines[outcome + 1:]), lines
