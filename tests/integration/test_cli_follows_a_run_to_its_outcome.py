"""The `tekton-runner` client commands, run as a separate process against a served runner: `submit --follow`
prints the steps and the build log as plain lines when piped and exits with the run's outcome; the other
commands print what the API answers, and refused requests readably."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

import pytest

from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.pods import put_build_pod, set_container_state
from tests.integration.replicas import replicas


@dataclass
class Cli:
    """One `tekton-runner` process with its stdout piped (so it prints plain lines)."""

    process: asyncio.subprocess.Process
    lines: list[str]

    @classmethod
    async def start(cls, harness: Harness, *args: str) -> Cli:
        env = {**os.environ, "TEKTON_RUNNER_URL": str(harness.http.make_url("")).rstrip("/")}
        env.pop("TEKTON_RUNNER_TOKEN", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tekton_runner.cli", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(process, [])

    async def line_starting(self, prefix: str) -> str:
        """Reads stdout until a line starts with `prefix` (every line read is kept in `lines`)."""
        assert self.process.stdout is not None
        while raw := await self.process.stdout.readline():
            self.lines.append(raw.decode().rstrip("\n"))
            if self.lines[-1].startswith(prefix):
                return self.lines[-1]
        raise AssertionError(f"no line starting with {prefix!r} in {self.lines}")

    async def finish(self) -> tuple[int, str]:
        """The exit code and stderr, once the process ended; the rest of stdout goes to `lines`."""
        out, err = await self.process.communicate()
        self.lines += out.decode().splitlines()
        return self.process.returncode or 0, err.decode()


async def run(harness: Harness, *args: str) -> tuple[int, list[str], str]:
    cli = await Cli.start(harness, *args)
    code, err = await cli.finish()
    return code, cli.lines, err


FLAGS = ("--workspace", "demo", "--app", "shop", "--git", "https://git.example.com/team/shop.git",
         "--dependency", "redis", "--follow")  # progress from the runner's stream (GET /runs/{id}/events)
POLLING = ("--poll-interval", "0.05")  # progress read by polling GET /runs/{id} instead


async def _submitted(cli: Cli) -> str:
    line = await cli.line_starting("run r-")
    assert line.endswith("submitted (pending)"), line  # answered once stored, before Tekton has it
    return line.split()[1]


def _build_pod_writes(harness: Harness, run_id: str, logs: dict[str, str]) -> None:
    pod = put_build_pod(harness.fake, run_id, state="running", with_pod_name=False)
    for container, text in logs.items():
        harness.fake.write_log(BUILD_NS, pod, f"step-{container}", text)
        set_container_state(harness.fake, BUILD_NS, pod, f"step-{container}", "terminated")


async def test_submit_follow_prints_steps_and_build_log_and_exits_0_on_success(harness: Harness) -> None:
    cli = await Cli.start(harness, "submit", *FLAGS)
    run_id = await _submitted(cli)
    _build_pod_writes(harness, run_id, {"fetch-source": "cloning\n", "build-and-push": "pushed\n"})
    await cli.line_starting("[build-and-push] pushed")
    response = await harness.send_event(harness.finish_taskrun(run_id), "successful")
    assert response.status == 202
    code, err = await cli.finish()
    assert code == 0, (cli.lines, err)
    assert "[fetch-source] cloning" in cli.lines
    transitions = [line for line in cli.lines if not line.startswith(("[", "run "))]
    firsts = [next(i for i, line in enumerate(transitions) if line.startswith(step + ": succeeded"))
              for step in ("build", "dependency", "app", "forward")]
    assert firsts == sorted(firsts), transitions
    assert "migration: skipped (NotRequested: migration.enabled is false)" in transitions
    assert cli.lines[-1].startswith(f"run {run_id} succeeded: reachable at 203.0.113.7:")
    assert not any("\x1b" in line for line in cli.lines)  # piped: no terminal control sequences


@pytest.mark.parametrize("progress", [(), POLLING], ids=["stream", "polling"])
async def test_submit_follow_of_a_failed_build_exits_non_zero_naming_the_step(
        harness: Harness, progress: tuple[str, ...]) -> None:
    cli = await Cli.start(harness, "submit", *FLAGS, *progress)
    run_id = await _submitted(cli)
    _build_pod_writes(harness, run_id, {"fetch-source": "cloning\n",
                                        "build-and-push": "error: no Dockerfile at ./Dockerfile\n"})
    await cli.line_starting("[build-and-push] error")
    message = '"step-build-and-push" exited with code 1'
    await harness.send_event(harness.finish_taskrun(run_id, succeeded=False, message=message), "failed")
    code, err = await cli.finish()
    assert code == 1, (cli.lines, err)
    assert f"build: failed (Failed: {message})" in cli.lines
    assert cli.lines[-1] == f"run {run_id} failed at step build: Failed: {message}"


async def test_client_commands_print_runs_steps_logs_endpoint_and_deletion(harness: Harness) -> None:
    run_id = (await harness.run_to_success(spec()))["run_id"]
    pod = put_build_pod(harness.fake, run_id)
    harness.fake.write_log(BUILD_NS, pod, "step-fetch-source", "cloning\n")
    code, lines, _ = await run(harness, "runs")
    assert code == 0 and lines[0].split("\t")[:3] == [run_id, "succeeded", "demo/shop"]
    code, lines, _ = await run(harness, "status", run_id)
    assert code == 0 and lines[0].startswith(f"run {run_id} (demo/shop): succeeded")
    assert [line.split()[:2] for line in lines[1:6]] == [
        ["build", "succeeded"], ["dependency", "succeeded"], ["migration", "succeeded"], ["app", "succeeded"],
        ["forward", "succeeded"]]
    assert (await run(harness, "logs", run_id, "--step", "build"))[:2] == (0, ["[fetch-source] cloning"])
    code, lines, _ = await run(harness, "endpoint", "demo", "shop")
    assert code == 0 and lines[0].startswith("host_local\t127.0.0.1:30080\t")
    assert (await run(harness, "delete", run_id))[:2] == (0, [f"run {run_id} deleted"])


async def test_refused_requests_are_printed_readably_with_exit_code_3(harness: Harness) -> None:
    code, _, err = await run(harness, "status", "r-0000000000000000")
    assert code == 3 and err.strip() == "tekton-runner: HTTP 404 not_found: no run 'r-0000000000000000'"
    code, _, err = await run(harness, "submit", "--workspace", "demo", "--app", "Bad_Name", "--git",
                             "https://git.example.com/team/shop.git")
    assert code == 3 and "HTTP 422 invalid: app.name: String should match pattern" in err
    run_id = (await harness.post_run(spec()))["run_id"]
    code, _, err = await run(harness, "logs", run_id, "--step", "migration")
    assert code == 3 and "HTTP 404 not_started" in err and "has not reached the migration step" in err
    code, _, err = await run(harness, "submit")
    assert code == 2 and "give a request file, or --workspace, --app, --git" in err


async def test_redeploy_follow_shows_the_new_run_and_exits_0_without_a_build(harness: Harness) -> None:
    first = await harness.run_to_success(spec())
    requests = len(harness.listener.received)

    code, lines, err = await run(harness, "redeploy", first["run_id"], "--follow")

    assert code == 0, (lines, err)
    assert lines[0].startswith("run r-") and f"redeploys run {first['run_id']}" in lines[0]
    assert any("succeeded" in line for line in lines[-1:]), lines
    assert len(harness.listener.received) == requests
    code, lines, err = await run(harness, "redeploy", "r-0000000000000000")
    assert code == 3 and "no run" in err


async def test_submit_follow_through_a_follower_shows_the_steps_the_leader_runs(harness: Harness) -> None:
    leader, follower = await replicas(harness, 2)
    try:
        cli = await Cli.start(follower, "submit", *FLAGS)
        run_id = await _submitted(cli)
        await cli.line_starting("build: running")  # the leader's dispatch, seen through the follower
        await leader.send_event(leader.finish_taskrun(run_id), "successful")
        code, err = await cli.finish()
        assert code == 0, (cli.lines, err)
        assert "app: succeeded" in [line.split(" (")[0] for line in cli.lines]
        assert cli.lines[-1].startswith(f"run {run_id} succeeded: reachable at 203.0.113.7:")
    finally:
        await follower.stop()
