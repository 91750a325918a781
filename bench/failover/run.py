"""Leader failover time on a real API server: three elector processes, the leader killed or stopped.

Each round starts three candidates (bench/failover/candidate.py) on a fresh Lease, waits for one to lead,
then sends it SIGKILL (no release: the others wait for the Lease to expire) or SIGTERM (it releases), and
measures the wall time until another candidate says it leads. The baseline, in the same run, is one
renewal's API round trip (GET and PUT of the Lease), the floor of any hand-over. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tekton_runner.kube import Kube, Leases
from tests.fakes import FakeKubeApi

CLUSTER_ENV = Path(os.environ.get("TEKTON_RUNNER_CLUSTER_DIR", "/tmp/tekton-runner-cluster")) / "cluster.env"


def default_kubeconfig() -> str | None:
    """The local plane's kubeconfig while it is up; None otherwise (then the fake API server is used)."""
    if CLUSTER_ENV.exists():
        for line in CLUSTER_ENV.read_text().splitlines():
            if line.startswith("KUBECONFIG="):
                return line.partition("=")[2].strip().strip("'\"")
    return None


class Candidate:
    def __init__(self, args: argparse.Namespace, namespace: str, lease: str, identity: str) -> None:
        self.identity = identity
        self._argv = [sys.executable, "-m", "bench.failover.candidate", "--kubeconfig", args.kubeconfig,
                      "--namespace", namespace, "--lease", lease, "--identity", identity,
                      "--duration", str(args.duration), "--renew-deadline", str(args.renew_deadline),
                      "--retry-period", str(args.retry_period)]
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, changes: asyncio.Queue[dict[str, Any]]) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self._argv, stdout=asyncio.subprocess.PIPE)
        asyncio.get_running_loop().create_task(self._read(changes))

    async def _read(self, changes: asyncio.Queue[dict[str, Any]]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            await changes.put(json.loads(line))

    async def end(self, number: signal.Signals = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(number)
            await self.proc.wait()


async def next_leader(changes: asyncio.Queue[dict[str, Any]], timeout: float) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            change = await changes.get()
            if change["leading"]:
                return change


async def one_round(args: argparse.Namespace, namespace: str, number: int, kill: signal.Signals) -> float:
    lease = f"bench-{number}"
    changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    candidates = [Candidate(args, namespace, lease, f"candidate-{index}") for index in range(3)]
    try:
        for candidate in candidates:
            await candidate.start(changes)
        first = await next_leader(changes, args.duration * 3)
        leader = next(candidate for candidate in candidates if candidate.identity == first["identity"])
        await asyncio.sleep(args.retry_period * 2)  # a few renewals, as a leader in service has made
        stopped_at = time.time()
        await leader.end(kill)
        second = await next_leader(changes, args.duration * 3)
        return float(second["at"] - stopped_at)
    finally:
        for candidate in candidates:
            await candidate.end()


async def round_trip(kube: Kube, namespace: str, samples: int) -> list[float]:
    """One renewal's API work (read, then a compare-and-set write) on a Lease nobody else touches."""
    leases = Leases(kube, name="bench-baseline", namespace=namespace)
    now = datetime.now(UTC)
    record = await leases.write(holder="bench", duration_seconds=15, acquire_time=now, renew_time=now,
                                transitions=0, read_at=None)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        current = await leases.read()
        record = await leases.write(holder="bench", duration_seconds=15, acquire_time=now,
                                    renew_time=datetime.now(UTC), transitions=0, read_at=current or record)
        times.append(time.perf_counter() - started)
    return times


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "p50": statistics.median(values), "max": max(values)}


@asynccontextmanager
async def api_server(args: argparse.Namespace) -> AsyncIterator[str]:
    """The local plane's API server when it is up (or --kubeconfig), else the HTTP-level fake in this process."""
    if args.kubeconfig:
        yield "kube-apiserver (local plane)"
        return
    with tempfile.TemporaryDirectory() as scratch:
        async with FakeKubeApi() as fake:
            args.kubeconfig = str(fake.write_kubeconfig(Path(scratch) / "kubeconfig"))
            yield "fake API server (tests/fakes, no local plane up)"


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with api_server(args) as server:
        return {"api_server": server, **await measure(args)}


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"bench-lease-{uuid.uuid4().hex[:6]}"
    async with Kube.connect(args.kubeconfig) as kube:
        await kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        try:
            baseline = await round_trip(kube, namespace, 50)
            killed = [await one_round(args, namespace, number, signal.SIGKILL) for number in range(args.rounds)]
            stopped = [await one_round(args, namespace, args.rounds + number, signal.SIGTERM)
                       for number in range(args.rounds)]
        finally:
            await kube.delete("v1", "Namespace", namespace)
    return {
        "when": datetime.now(UTC).isoformat(timespec="minutes"), "load": os.getloadavg()[0],
        "python": platform.python_version(), "rounds": args.rounds,
        "terms": {"duration": args.duration, "renew_deadline": args.renew_deadline, "retry_period": args.retry_period},
        "lease_round_trip_s": summary(baseline), "sigkill_to_new_leader_s": summary(killed),
        "sigterm_to_new_leader_s": summary(stopped),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", default=default_kubeconfig())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--renew-deadline", type=float, default=10.0)
    parser.add_argument("--retry-period", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse(sys.argv[1:])
    result = asyncio.run(main(options))
    print(json.dumps(result, indent=2))
    if options.json:
        options.json.write_text(json.dumps(result, indent=2) + "\n")
