"""Many clients following one build's log (GET /runs/{id}/logs?follow=1) against the same clients following
the pod's log straight from the API server (what `kubectl logs -f` does), in one run.

Usage: python -m bench.follow.logs [--clients 200] [--lines 40] [--json out.json]
The API server is the project's fake (bench.api.stubs), playing the kubelet: each log line carries the time
it was written, so each client's delay is the time from the write to its arrival. Reported for both: p50/p99
over every client and line, the time to the last client per line (p50/p99), and for the runner its resident
memory before and while the clients follow, and how many log streams it held open at the API server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.api.run import free_port, process, runner_argv, wait_building, wait_listening
from bench.follow.run import RUN_BODY, rss_mib, summary
from bench.report import report

Delays = dict[int, list[float]]


def stamp(line: str) -> tuple[int, float] | None:
    """`… t=<seconds> n=<index>` as written by `write_lines`, with any label in front."""
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return (int(fields["n"]), float(fields["t"])) if "n" in fields and "t" in fields else None


async def follower(session: aiohttp.ClientSession, url: str, headers: dict[str, str], delays: Delays) -> None:
    async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as response:
        assert response.status == 200, await response.text()
        async for raw in response.content:
            found = stamp(raw.decode())
            if found is not None:
                delays.setdefault(found[0], []).append(time.time() - found[1])


class Kubelet:
    """The stubs' control routes: the build pod, its log lines and its end."""

    def __init__(self, session: aiohttp.ClientSession, control: str) -> None:
        self._session, self._control = session, control

    async def call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        method = self._session.post if body is not None else self._session.get
        async with method(f"{self._control}/control/{path}", json=body) as response:
            assert response.status == 200, await response.text()
            answer: dict[str, Any] = await response.json()
            return answer

    async def wait_following(self, count: int) -> None:
        await self.call(f"following?at_least={count}")

    async def write_lines(self, pod: str, lines: int) -> None:
        for index in range(lines):
            await self.call("log", {"pod": pod, "text": f"t={time.time():.6f} n={index}\n"})
            await asyncio.sleep(0.05)


async def measure(kubelet: Kubelet, pod: str, clients: int, lines: int, open_follow: Callable[[Delays], Any],
                  pid: int | None) -> dict[str, Any]:
    before = rss_mib(pid) if pid else None
    delays: Delays = {}
    readers = [asyncio.ensure_future(open_follow(delays)) for _ in range(clients)]
    await kubelet.wait_following(clients)
    connected = rss_mib(pid) if pid else None
    await kubelet.write_lines(pod, lines)
    await kubelet.call("end", {"pod": pod})
    await asyncio.wait_for(asyncio.gather(*readers), timeout=120)  # every follow ends with the container
    seen = {("lines_seen" if key == "transitions" else key): value for key, value in summary(delays, 0).items()}
    return {"clients": clients, "lines": lines, "rss_before_mib": before, "rss_following_mib": connected, **seen}


def api_server(kubeconfig: Path) -> tuple[str, dict[str, str]]:
    config = json.loads(kubeconfig.read_text())
    token = config["users"][0]["user"]["token"]
    return config["clusters"][0]["cluster"]["server"], {"Authorization": f"Bearer {token}"}


async def follow_api(control: str, kubeconfig: Path, clients: int, lines: int) -> dict[str, Any]:
    server, auth = api_server(kubeconfig)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        kubelet = Kubelet(session, control)
        # The EventListener stand-in makes the TaskRun the build pod belongs to.
        async with session.post(control, json={"run_id": "r-baseline", "image": "harbor.bench/library/x"}) as answer:
            assert answer.status == 202
        created = await kubelet.call("build-pod", {"run_id": "r-baseline"})
        url = (f"{server}/api/v1/namespaces/tekton-pipelines/pods/{created['pod']}/log"
               f"?follow=true&container={created['container']}")
        return await measure(kubelet, created["pod"], clients, lines,
                             lambda delays: follower(session, url, auth, delays), None)


async def follow_runner(base: str, control: str, pid: int, clients: int, lines: int) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        kubelet = Kubelet(session, control)
        async with session.post(f"{base}/run", json=RUN_BODY) as response:
            run_id = (await response.json())["run_id"]
        await wait_building(session, base, run_id)
        created = await kubelet.call("build-pod", {"run_id": run_id})
        url = f"{base}/runs/{run_id}/logs?step=build&follow=1"
        return await measure(kubelet, created["pod"], clients, lines,
                             lambda delays: follower(session, url, {}, delays), pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        el_port, runner_port = free_port(), free_port()
        control = f"http://127.0.0.1:{el_port}"
        with process([python, "-m", "bench.api.stubs", "--el-port", str(el_port), "--kubeconfig", str(kubeconfig)]):
            wait_listening(el_port)
            baseline = asyncio.run(follow_api(control, kubeconfig, args.clients, args.lines))
            runner_env = {"TEKTON_RUNNER_DATA_DIR": str(Path(scratch) / "data"),
                          "TEKTON_RUNNER_EVENTLISTENER_URL": f"{control}/",
                          "TEKTON_RUNNER_RESYNC_SECONDS": "3600", "TEKTON_RUNNER_BUILD_NAMESPACE": "tekton-pipelines",
                          "TEKTON_RUNNER_REGISTRY": "harbor.bench/library",
                          "TEKTON_RUNNER_LOGS_MAX_FOLLOWS": str(args.clients + 10),
                          "TEKTON_RUNNER_PUBLIC_URL": f"http://127.0.0.1:{runner_port}"}
            with process(runner_argv(python, runner_port, kubeconfig), env=runner_env) as runner:
                wait_listening(runner_port)
                measured = asyncio.run(follow_runner(f"http://127.0.0.1:{runner_port}", control, runner.pid,
                                                     args.clients, args.lines))
    report({
        "baseline_api_follows": baseline, "runner_log_follows": measured,
    }, args.json)


if __name__ == "__main__":
    main()
