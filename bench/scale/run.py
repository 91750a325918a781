"""What the runner costs with many runs stored: 10,000 runs in 1,000 workspaces against a baseline of only
the live runs, in one run.

Usage: python -m bench.scale.run [--runs 10000] [--workspaces 1000] [--live 10] [--json out.json]
For each of the two data sets (baseline: `--live` building runs alone; loaded: the same live runs among
`--runs` ended ones, every run with its TaskRun in the API server, as a cluster that keeps TaskRuns holds
them), the runner starts on a database seeded through its own store and resyncs every second. Measured:
CPU seconds and API requests per resync cycle (over an idle window: nothing but the resync runs), resident
memory, and GET /runs latency (p50/p99) for a workspace's newest 20 and for every page of 100 in turn.
The ended runs are `failed`: a succeeded run would have the resync restore its missing Deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.api.run import free_port, process, runner_argv, wait_listening
from bench.follow.run import rss_mib
from bench.report import report
from tekton_runner.models.ids import new_run_id
from tekton_runner.models.runs import RunState, Step, StepName, StepState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.sqlite import SqliteDatabase

REGISTRY = "harbor.bench/library"
WINDOW_SECONDS = 10.0


def spec(workspace: str, app: str) -> RunSpec:
    return RunSpec.model_validate({
        "workspace": workspace, "app": {"name": app, "port": 8080},
        "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
    })


async def seed(database: Path, *, ended: int, workspaces: int, live: int) -> list[dict[str, str]]:
    """Stores the runs; answers the TaskRuns the API server should hold for them."""
    taskruns = []
    async with SqliteDatabase.open(database) as db:
        writes = RunWrites(db)
        for index in range(ended + live):
            run_id = new_run_id()
            image = f"{REGISTRY}/ws{index % workspaces}-app:{run_id}"
            await writes.create(run_id, spec(f"ws{index % workspaces}", "app"), image)
            await writes.accept(run_id, f"event-{index}", Step(name=StepName.BUILD, state=StepState.RUNNING))
            if index < ended:
                await writes.transition(run_id, allowed=(RunState.BUILDING,), to=RunState.FAILED,
                                        reason="build:Failed", message="seeded")
            taskruns.append({"run_id": run_id, "image": image, "status": "Failed" if index < ended else "Running"})
    return taskruns


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def resyncs(session: aiohttp.ClientSession, base: str) -> float:
    async with session.get(f"{base}/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("tekton_runner_resync_total{"))


async def api_requests(session: aiohttp.ClientSession, control: str) -> int:
    async with session.get(f"{control}/control/requests") as response:
        return int((await response.json())["requests"])


async def latencies(session: aiohttp.ClientSession, urls: list[str]) -> dict[str, float]:
    samples = []
    for url in urls:
        start = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            assert response.status == 200, await response.text()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return {"requests": len(samples), "p50_ms": 1000 * samples[len(samples) // 2],
            "p99_ms": 1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))]}


async def pages(session: aiohttp.ClientSession, base: str) -> list[str]:
    """The URL of every page of 100, found by walking `next`."""
    urls, url = [], f"{base}/runs?limit=100"
    while url:
        urls.append(url)
        async with session.get(url) as response:
            following = (await response.json()).get("next")
        url = f"{base}/runs?limit=100&cursor={following}" if following else ""
    return urls


async def observe(base: str, control: str, pid: int, workspaces: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        while await resyncs(session, base) < 2:  # noqa: ASYNC110 - past start-up; the counter is another process's
            await asyncio.sleep(0.2)
        cycles, calls, cpu = await resyncs(session, base), await api_requests(session, control), cpu_seconds(pid)
        await asyncio.sleep(WINDOW_SECONDS)  # idle: only the resync runs in the window
        cycles = await resyncs(session, base) - cycles
        calls = await api_requests(session, control) - calls
        cpu = cpu_seconds(pid) - cpu
        by_workspace = await latencies(session, [f"{base}/runs?workspace=ws{index % workspaces}&limit=20"
                                                 for index in range(500)])
        paged = await latencies(session, await pages(session, base))
    return {"resync_cycles": cycles, "cpu_ms_per_cycle": 1000 * cpu / max(cycles, 1),
            "api_requests_per_cycle": calls / max(cycles, 1), "rss_mib": rss_mib(pid),
            "get_runs_workspace_newest_20": by_workspace, "get_runs_every_page_of_100": paged}


def measure(*, ended: int, workspaces: int, live: int) -> dict[str, Any]:
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig, data = Path(scratch) / "kubeconfig", Path(scratch) / "data"
        started = time.perf_counter()
        taskruns = asyncio.run(seed(data / "state.sqlite3", ended=ended, workspaces=workspaces, live=live))
        seeded = time.perf_counter() - started
        el_port, runner_port = free_port(), free_port()
        control = f"http://127.0.0.1:{el_port}"
        with process([python, "-m", "bench.api.stubs", "--el-port", str(el_port), "--kubeconfig", str(kubeconfig)]):
            wait_listening(el_port)
            for start in range(0, len(taskruns), 1000):  # bodies under the stub's 1 MiB limit
                asyncio.run(_post(f"{control}/control/taskruns", taskruns[start:start + 1000]))
            env = {"TEKTON_RUNNER_DATA_DIR": str(data), "TEKTON_RUNNER_EVENTLISTENER_URL": f"{control}/",
                   "TEKTON_RUNNER_RESYNC_SECONDS": "1", "TEKTON_RUNNER_BUILD_NAMESPACE": "tekton-pipelines",
                   "TEKTON_RUNNER_REGISTRY": REGISTRY, "TEKTON_RUNNER_PUBLIC_URL": f"http://127.0.0.1:{runner_port}",
                   "TEKTON_RUNNER_TASKRUN_APPEAR_TIMEOUT": "3600"}
            with process(runner_argv(python, runner_port, kubeconfig), env=env) as runner:
                wait_listening(runner_port)
                observed = asyncio.run(observe(f"http://127.0.0.1:{runner_port}", control, runner.pid, workspaces))
    return {"runs_stored": ended + live, "live_runs": live, "seed_seconds": seeded, **observed}


async def _post(url: str, body: object) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 200, await response.text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--live", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    baseline = measure(ended=0, workspaces=args.workspaces, live=args.live)
    loaded = measure(ended=args.runs - args.live, workspaces=args.workspaces, live=args.live)
    report({
        "baseline_live_runs_only": baseline, "many_runs_stored": loaded,
    }, args.json)


if __name__ == "__main__":
    main()
