"""POST /run throughput, latency and server CPU time per request against a bare aiohttp echo, on SQLite and
on PostgreSQL, and event-to-chain-start latency.

Usage: python -m bench.api.run [--requests 2000] [--concurrency 16] [--events 100] [--json out.json]
Every server runs in its own process on 127.0.0.1; the load generator is this process. PostgreSQL is a
throwaway server started the way the tests start theirs (tests/postgres.py, Debian's postgresql package).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.report import report
from tests.postgres import running_postgres

ROOT = Path(__file__).resolve().parents[2]
RUN_BODY = {
    "workspace": "bench", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
    "dependency": {"type": "both"}, "migration": {"enabled": True, "command": ["./migrate"]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {deadline}s")


@contextlib.contextmanager
def process(argv: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    # Output goes to a file: an unread pipe fills up and stalls the server mid-benchmark.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(url: str | list[str], requests: int, concurrency: int, *servers: subprocess.Popen[bytes]
             ) -> dict[str, Any]:
    """`load`, with the servers' CPU time per request (less moved by other work on the machine than rates)."""
    def spent() -> float:
        return sum(cpu_seconds(server.pid) for server in servers)

    before = spent()
    figures = asyncio.run(load(url, requests, concurrency))
    return {**figures, "server_cpu_ms_per_request": 1000 * (spent() - before) / requests}


async def load(url: str | list[str], requests: int, concurrency: int) -> dict[str, Any]:
    """`requests` POSTs from `concurrency` clients; with several URLs (replicas behind a load balancer), the
    clients are spread over them in turn."""
    urls = [url] if isinstance(url, str) else url
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    payload = json.dumps(RUN_BODY).encode()

    async def worker(session: aiohttp.ClientSession, url: str) -> None:
        nonlocal errors
        while not queue.empty():
            queue.get_nowait()
            start = time.perf_counter()
            async with session.post(url, data=payload, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                if response.status != 202:
                    errors += 1
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session, urls[number % len(urls)]) for number in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests, "concurrency": concurrency, "errors": errors,
        "rps": requests / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def chain_start_latency(base: str, events: int, kubeconfig: Path) -> dict[str, Any]:
    """`events` builds finishing at once: their TaskRuns marked Succeeded, then every Tekton event sent
    together; latency = each run's dependency step's recorded start minus the moment its event was sent."""
    async with aiohttp.ClientSession() as session:
        run_ids = []
        for index in range(events):
            # A distinct app per event: chains of one app run one at a time by design.
            body = {**RUN_BODY, "app": {"name": f"shop{index}", "port": 8080}}
            async with session.post(f"{base}/run", json=body) as response:
                run_ids.append((await response.json())["run_id"])
        for run_id in run_ids:
            await wait_building(session, base, run_id)  # the answer came before the EventListener's
            # The digest as Kaniko reports it: without one the runner would ask the registry (here a name
            # that does not resolve, whose lookup time is the resolver's, not the runner's).
            await _set_taskrun_status(session, kubeconfig, run_id, {
                "completionTime": "2026-11-26T10:00:00Z", "results": [
                    {"name": "IMAGE_DIGEST", "value": "sha256:" + hashlib.sha256(run_id.encode()).hexdigest()}],
                "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]})
        sent = dict(zip(run_ids, await asyncio.gather(*(_send_succeeded(session, base, run_id)
                                                            for run_id in run_ids)), strict=True))
        samples = [(started - sent[run_id]).total_seconds()
                   for run_id, started in (await _chain_starts(session, base, run_ids)).items()]
    samples.sort()
    return {"events": events, "p50_ms": 1000 * statistics.median(samples),
            "p99_ms": 1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))],
            "max_ms": 1000 * samples[-1]}


async def _send_succeeded(session: aiohttp.ClientSession, base: str, run_id: str) -> datetime:
    """Tekton's `successful` event for the run's TaskRun, as its CloudEvents sink sends it; returns when."""
    taskrun = {"metadata": {"name": f"build-{run_id}", "namespace": "tekton-pipelines", "uid": run_id,
                            "labels": {"tekton-runner.io/run-id": run_id}},
               "status": {"completionTime": "2026-11-26T10:00:00Z",
                          "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]}}
    headers = {"Ce-Id": run_id, "Ce-Specversion": "1.0", "Ce-Source": "bench",
               "Ce-Type": "dev.tekton.event.taskrun.successful.v1", "Content-Type": "application/json"}
    sent = datetime.now(UTC)
    async with session.post(f"{base}/cloudevents", json={"taskRun": taskrun}, headers=headers) as response:
        assert response.status == 202, await response.text()
    return sent


async def _chain_starts(session: aiohttp.ClientSession, base: str, run_ids: list[str]) -> dict[str, datetime]:
    """When each run's chain started (its dependency step's recorded start), read once all have started."""
    started: dict[str, datetime] = {}
    while len(started) < len(run_ids):
        for run_id in run_ids:
            if run_id in started:
                continue
            async with session.get(f"{base}/runs/{run_id}") as response:
                run = await response.json()
            step = next(s for s in run["steps"] if s["name"] == "dependency")
            if step["started_at"]:
                started[run_id] = datetime.fromisoformat(step["started_at"])
        await asyncio.sleep(0.05)
    return started


async def wait_building(session: aiohttp.ClientSession, base: str, run_id: str) -> None:
    """Until the run's build request was sent (POST /run answers before that), so its TaskRun exists."""
    while True:
        async with session.get(f"{base}/runs/{run_id}") as response:
            if (await response.json())["state"] != "pending":
                return
        await asyncio.sleep(0.002)


async def _set_taskrun_status(session: aiohttp.ClientSession, kubeconfig: Path, run_id: str,
                              status: dict[str, Any]) -> None:
    config = json.loads(await asyncio.to_thread(kubeconfig.read_text))
    server = config["clusters"][0]["cluster"]["server"]
    token = config["users"][0]["user"]["token"]
    url = f"{server}/apis/tekton.dev/v1/namespaces/tekton-pipelines/taskruns/build-{run_id}/status"
    async with session.patch(url, json={"status": status}, headers={
            "Content-Type": "application/merge-patch+json", "Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()


def runner_argv(python: str, port: int, kubeconfig: Path) -> list[str]:
    return [python, "-m", "tekton_runner.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--kubeconfig", str(kubeconfig), "--log-level", "warning"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--events", type=int, default=100, help="builds finishing at once")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        el_port, echo_ports, relay_port = free_port(), [free_port(), free_port()], free_port()
        with process([python, "-m", "bench.api.stubs", "--el-port", str(el_port), "--kubeconfig", str(kubeconfig)]), \
                process([python, "-m", "bench.api.echo", "--port", str(echo_ports[0])]) as echo_server, \
                process([python, "-m", "bench.api.echo", "--port", str(echo_ports[1])]) as second_echo, \
                process([python, "-m", "bench.api.echo", "--port", str(relay_port),
                         "--forward", f"http://127.0.0.1:{el_port}/"]) as relay_server:
            for port in (el_port, *echo_ports, relay_port):
                wait_listening(port)
            echo_urls = [f"http://127.0.0.1:{port}/run" for port in echo_ports]

            def runner_env(name: str, port: int) -> dict[str, str]:
                return {"TEKTON_RUNNER_DATA_DIR": str(Path(scratch) / name),
                        "TEKTON_RUNNER_EVENTLISTENER_URL": f"http://127.0.0.1:{el_port}/",
                        "TEKTON_RUNNER_RESYNC_SECONDS": "3600", "TEKTON_RUNNER_READY_TIMEOUT": "1",
                        "TEKTON_RUNNER_BUILD_NAMESPACE": "tekton-pipelines",
                        "TEKTON_RUNNER_POLL_INTERVAL": "0.5", "TEKTON_RUNNER_REGISTRY": "harbor.bench/library",
                        # the stand-in creates TaskRuns at once and sends no Tekton events to pace by
                        "TEKTON_RUNNER_DISPATCH_MIN_WINDOW": "100000",
                        "TEKTON_RUNNER_PUBLIC_URL": f"http://127.0.0.1:{port}"}

            def paired(urls: list[str], *servers: subprocess.Popen[bytes], echoes: int = 1) -> dict[str, Any]:
                """The bare handler (on as many processes as the runner has) measured just before the runner,
                so that both meet the same machine; the runner's figures with its ratio to that baseline."""
                asyncio.run(load(echo_urls[:echoes], 200, args.concurrency))  # warm-up
                asyncio.run(load(urls, 200, args.concurrency))
                asyncio.run(drained(urls[0]))
                baseline = measured(echo_urls[:echoes], args.requests, args.concurrency,
                                    *(echo_server, second_echo)[:echoes])
                started = time.perf_counter()
                runner = measured(urls, args.requests, args.concurrency, *servers)
                runner["all_sent_s"] = asyncio.run(drained(urls[0])) - started
                return {"baseline": baseline, "runner": runner, "ratio_rps": runner["rps"] / baseline["rps"]}

            runner_port = free_port()
            # As many chains at once as builds finish together, so the figure is the runner's own delay and
            # not the queue behind TEKTON_RUNNER_CHAIN_CONCURRENCY.
            sqlite_env = {**runner_env("sqlite", runner_port), "TEKTON_RUNNER_CHAIN_CONCURRENCY": str(args.events)}
            with process(runner_argv(python, runner_port, kubeconfig), env=sqlite_env) as server:
                wait_listening(runner_port)
                on_sqlite = paired([f"http://127.0.0.1:{runner_port}/run"], server)
                # The floor of any design that sends Tekton one request per run: the bare handler that also
                # forwards each body to the EventListener stand-in.
                relay_url = f"http://127.0.0.1:{relay_port}/run"
                asyncio.run(load(relay_url, 200, args.concurrency))  # warm-up
                on_sqlite["handler_and_eventlistener_call"] = measured(relay_url, args.requests, args.concurrency,
                                                                     relay_server)
                chain = asyncio.run(chain_start_latency(f"http://127.0.0.1:{runner_port}", args.events, kubeconfig))
            # The same runner on a PostgreSQL server of its own (Debian's package), loaded the same way; then two
            # replicas on that database (one elected leader, as deploy/ runs them), the clients spread over both
            # as a Service would spread them.
            with running_postgres() as database_url:
                ports = [free_port(), free_port()]
                envs = [{**runner_env(f"postgres-{number}", port), "TEKTON_RUNNER_DATABASE_URL": database_url,
                         "TEKTON_RUNNER_LEADER_ELECTION": "true", "TEKTON_RUNNER_LEASE_NAMESPACE": "tekton-runner",
                         "TEKTON_RUNNER_LEASE_IDENTITY": f"replica-{number}", "TEKTON_RUNNER_FORWARD": "false"}
                        for number, port in enumerate(ports)]
                urls = [f"http://127.0.0.1:{port}/run" for port in ports]
                with process(runner_argv(python, ports[0], kubeconfig), env=envs[0]) as first:
                    wait_listening(ports[0])
                    on_postgres = paired(urls[:1], first)
                    with process(runner_argv(python, ports[1], kubeconfig), env=envs[1]) as second:
                        wait_listening(ports[1])
                        two_replicas = paired(urls, first, second, echoes=2)
    report({
        "sqlite": on_sqlite, "postgres": on_postgres, "postgres_two_replicas": two_replicas,
        "event_to_chain_start": chain,
    }, args.json)


async def drained(url: str) -> float:
    """Waits until no run is `pending` (every build request sent); returns the perf_counter time then."""
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url.replace("/run", "/runs"), params={"state": "pending", "limit": "1"}) as response:
                if not (await response.json())["runs"]:
                    return time.perf_counter()
            await asyncio.sleep(0.01)


if __name__ == "__main__":
    main()
