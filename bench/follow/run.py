"""Many clients following one run (GET /runs/{id}/events) against a bare aiohttp SSE fan-out, in one run.

Usage: python -m bench.follow.run [--clients 500] [--transitions 20] [--json out.json]
Measures, for the runner and for the baseline: the time from a transition to each client receiving it
(p50/p99 over every client and transition), the time to the last client (p50/p99 over transitions), and
the server's resident memory before the clients connect and while they are connected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.api.run import _set_taskrun_status, free_port, process, runner_argv, wait_building, wait_listening
from bench.report import report

RUN_BODY = {
    "workspace": "bench", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
    "dependency": {"type": "none"},
}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def follower(session: aiohttp.ClientSession, url: str, delays: dict[int, list[float]],
                   connected: asyncio.Event, ready: list[int], clients: int) -> None:
    """Reads the stream to its end; for each message, the delay from its `at` to now."""
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as response:
        ready.append(1)
        if len(ready) == clients:
            connected.set()
        data = None
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif not line and data is not None:
                at = datetime.fromisoformat(data["at"]).timestamp()
                delays.setdefault(int(data["seq"]), []).append(time.time() - at)
                data = None


def summary(delays: dict[int, list[float]], first: int) -> dict[str, Any]:
    """Delays of transitions numbered `first` and above (earlier ones were history when clients connected)."""
    every = sorted(d for seq, ds in delays.items() if seq >= first for d in ds)
    last = sorted(max(ds) for seq, ds in delays.items() if seq >= first)
    def pct(values: list[float], q: float) -> float:
        return 1000 * values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")
    return {"transitions": len(last), "deliveries": len(every), "p50_ms": pct(every, 0.5), "p99_ms": pct(every, 0.99),
            "last_client_p50_ms": pct(last, 0.5), "last_client_p99_ms": pct(last, 0.99)}


async def follow_runner(base: str, kubeconfig: Path, pid: int, clients: int, transitions: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(f"{base}/run", json=RUN_BODY) as response:
            run_id = (await response.json())["run_id"]
        await wait_building(session, base, run_id)
        before = rss_mib(pid)
        delays: dict[int, list[float]] = {}
        connected, ready = asyncio.Event(), list[int]()
        readers = [asyncio.ensure_future(follower(session, f"{base}/runs/{run_id}/events", delays, connected, ready,
                                                  clients)) for _ in range(clients)]
        await connected.wait()
        await asyncio.sleep(1)  # let every stream send its history before live transitions are timed
        first = max(delays) + 1 if delays else 1
        connected_rss = rss_mib(pid)
        for index in range(transitions):
            status = {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running",
                                      "message": f"step {index + 1} of {transitions}"}]}
            await _set_taskrun_status(session, kubeconfig, run_id, status)
            await _event(session, base, run_id, f"{run_id}-{index}", "running", status)
            await asyncio.sleep(0.05)
        done = {"completionTime": "2026-12-02T10:00:00Z", "conditions": [
            {"type": "Succeeded", "status": "True", "reason": "Succeeded"}]}
        await _set_taskrun_status(session, kubeconfig, run_id, done)
        await _event(session, base, run_id, f"{run_id}-done", "successful", done)
        try:
            await asyncio.wait_for(asyncio.gather(*readers), timeout=120)  # streams end with the run's end
        except TimeoutError:
            async with session.get(f"{base}/runs/{run_id}") as response:
                raise RuntimeError(f"the run did not end: {await response.text()}") from None
        return {"clients": clients, "rss_before_mib": before, "rss_connected_mib": connected_rss,
                **summary(delays, first)}


async def _event(session: aiohttp.ClientSession, base: str, run_id: str, ce_id: str, kind: str,
                 status: dict[str, Any]) -> None:
    taskrun = {"metadata": {"name": f"build-{run_id}", "namespace": "tekton-pipelines",
                            "labels": {"tekton-runner.io/run-id": run_id}}, "status": status}
    headers = {"Ce-Id": ce_id, "Ce-Specversion": "1.0", "Ce-Source": "bench",
               "Ce-Type": f"dev.tekton.event.taskrun.{kind}.v1", "Content-Type": "application/json"}
    async with session.post(f"{base}/cloudevents", json={"taskRun": taskrun}, headers=headers) as response:
        assert response.status in (200, 202), await response.text()


async def follow_baseline(base: str, pid: int, clients: int, transitions: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        before = rss_mib(pid)
        delays: dict[int, list[float]] = {}
        connected, ready = asyncio.Event(), list[int]()
        readers = [asyncio.ensure_future(follower(session, f"{base}/events", delays, connected, ready, clients))
                   for _ in range(clients)]
        await connected.wait()
        connected_rss = rss_mib(pid)
        for index in range(transitions + 1):
            body = {"seq": index + 1, "at": datetime.now(UTC).isoformat(), "subject": "step", "step": "build",
                    "state": "running", "reason": "Running", "message": f"step {index + 1}"}
            async with session.post(f"{base}/publish", json=body) as response:
                await response.read()
            await asyncio.sleep(0.05)
        async with session.post(f"{base}/close") as response:
            await response.read()
        await asyncio.wait_for(asyncio.gather(*readers), timeout=120)
        return {"clients": clients, "rss_before_mib": before, "rss_connected_mib": connected_rss,
                **summary(delays, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--transitions", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        el_port, fan_port, runner_port = free_port(), free_port(), free_port()
        with process([python, "-m", "bench.api.stubs", "--el-port", str(el_port), "--kubeconfig", str(kubeconfig)]), \
                process([python, "-m", "bench.follow.fanout", "--port", str(fan_port)]) as fanout:
            wait_listening(el_port)
            wait_listening(fan_port)
            baseline = asyncio.run(follow_baseline(f"http://127.0.0.1:{fan_port}", fanout.pid, args.clients,
                                                   args.transitions))
            runner_env = {"TEKTON_RUNNER_DATA_DIR": str(Path(scratch) / "data"),
                          "TEKTON_RUNNER_EVENTLISTENER_URL": f"http://127.0.0.1:{el_port}/",
                          "TEKTON_RUNNER_RESYNC_SECONDS": "3600", "TEKTON_RUNNER_READY_TIMEOUT": "1",
                          "TEKTON_RUNNER_BUILD_NAMESPACE": "tekton-pipelines",
                          "TEKTON_RUNNER_POLL_INTERVAL": "0.5", "TEKTON_RUNNER_REGISTRY": "harbor.bench/library",
                          "TEKTON_RUNNER_MAX_FOLLOWERS": str(args.clients + 10),
                          "TEKTON_RUNNER_PUBLIC_URL": f"http://127.0.0.1:{runner_port}"}
            with process(runner_argv(python, runner_port, kubeconfig), env=runner_env) as runner:
                wait_listening(runner_port)
                measured = asyncio.run(follow_runner(f"http://127.0.0.1:{runner_port}", kubeconfig, runner.pid,
                                                     args.clients, args.transitions))
    report({
        "baseline_fanout": baseline, "runner_events": measured,
    }, args.json)


if __name__ == "__main__":
    main()
