"""Forwarding benchmark: iperf3 throughput, wrk round trips, 1,000 held connections; loopback only."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PY = sys.executable
HOST = "127.0.0.1"  # every process this script starts listens and connects here only (see --private-netns)
# In a private network namespace the run uses this TEST-NET-1 address on lo instead: the kernel path does not
# take loopback targets, and the service would not either (docs/forwarding.md).
NETNS_HOST = "192.0.2.1"


def have_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Variant:
    """One way of getting from a client port to the target port."""

    name: str
    kind: str  # direct | socat | naive | forwarder
    engine: str = ""
    loop: str = ""


def variants(selected: list[str] | None) -> list[Variant]:
    found = [
        Variant("direct", "direct"),
        Variant("socat", "socat"),
        Variant("naive asyncio streams", "naive"),
        Variant("forwarder transports+asyncio", "forwarder", "transports", "asyncio"),
        Variant("forwarder splice-always+asyncio", "forwarder", "splice-always", "asyncio"),
        Variant("forwarder splice+asyncio (default relay)", "forwarder", "splice", "asyncio"),
    ]
    if HOST == NETNS_HOST:
        found.append(Variant("forwarder dnat (kernel)", "forwarder", "dnat", "asyncio"))
    if have_uvloop():
        found += [
            Variant("forwarder transports+uvloop", "forwarder", "transports", "uvloop"),
            Variant("forwarder splice-always+uvloop", "forwarder", "splice-always", "uvloop"),
            Variant("forwarder splice+uvloop", "forwarder", "splice", "uvloop"),
        ]
    if selected:
        found = [v for v in found if any(s in v.name for s in selected)]
    return found


def enter_private_netns() -> None:
    """Called inside `unshare -n`: lo up with NETNS_HOST on it, and every address below becomes NETNS_HOST."""
    global HOST
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{NETNS_HOST}/32", "dev", "lo"], check=True)
    HOST = NETNS_HOST


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something listens on HOST:port, read from /proc/net/tcp so no probe connection is made
    (a probe relayed to iperf3 would count as a test client and make the real one find it busy)."""
    want = f"{socket.inet_aton(HOST)[::-1].hex().upper()}:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1] == want and parts[3] == "0A":
            return True
    return False


def wait_port(port: int, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not listening(port):
        if time.monotonic() > end:
            raise TimeoutError(f"nothing listens on {HOST}:{port}")
        time.sleep(0.05)


@dataclass
class Relay:
    """A running relay process (or none, for direct) in front of target_port."""

    variant: Variant
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        """CPU time of the relay's process tree: live processes' utime+stime, plus the children it has
        reaped (cutime+cstime). socat's per-connection children count while they run, not only once reaped."""
        if self.proc is None:
            return 0.0
        ticks = 0
        for pid in self.tree():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
                if pid == self.proc.pid:
                    ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children already reaped
        return ticks / os.sysconf("SC_CLK_TCK")

    def tree(self) -> list[int]:
        if self.proc is None:
            return []
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        return pids

    def memory_kib(self) -> tuple[int, int]:
        """(RSS, PSS) summed over the relay's process tree, in KiB."""
        rss = pss = 0
        for pid in self.tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        return rss, pss

    def fds(self) -> int:
        return sum(len(os.listdir(f"/proc/{pid}/fd")) for pid in self.tree() if Path(f"/proc/{pid}").exists())


@contextlib.contextmanager
def relay(variant: Variant, target_port: int) -> Iterator[Relay]:
    """Start the variant in front of target_port; stop it (by its own PID) afterwards."""
    if variant.kind == "direct":
        yield Relay(variant, target_port)
        return
    port = free_port()
    if variant.kind == "socat":
        cmd = ["socat", f"TCP-LISTEN:{port},bind={HOST},fork,reuseaddr,backlog=4096", f"TCP:{HOST}:{target_port}"]
    elif variant.kind == "naive":
        cmd = [PY, str(HERE / "naive_streams.py"), str(port), str(target_port), HOST]
    else:
        cmd = [PY, "-m", "tekton_runner.forwarding", "--listen", f"{HOST}:{port}",
               "--target", f"{HOST}:{target_port}", "--engine", variant.engine, "--loop", variant.loop,
               "--nft-table", "tekton_runner_bench"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    quiet = subprocess.DEVNULL if variant.kind == "socat" else None  # socat reports every reset peer
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=quiet, env=env)
    try:
        wait_port(port)
        yield Relay(variant, port, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def server(cmd: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- throughput ---------------------------------------------------------------------------------


def iperf(port: int, seconds: int) -> float:
    out = subprocess.run(
        ["iperf3", "-c", HOST, "-p", str(port), "-t", str(seconds), "-J"],
        capture_output=True, check=False, timeout=seconds + 30,
    ).stdout  # fmt: skip
    result = json.loads(out)
    if "error" in result:
        raise RuntimeError(f"iperf3 through port {port}: {result['error']}")
    return float(result["end"]["sum_received"]["bits_per_second"]) / 1e9


@dataclass
class Throughput:
    gbits: list[float] = field(default_factory=list)
    cpu_per_gb: list[float] = field(default_factory=list)


def bench_throughput(vs: list[Variant], seconds: int, repeat: int) -> dict[str, Throughput]:
    results = {v.name: Throughput() for v in vs}
    iperf_port = free_port()
    with server(["iperf3", "-s", "-B", HOST, "-p", str(iperf_port)], iperf_port):
        # Round-robin over variants so a burst of background load hits all of them alike.
        for _ in range(repeat):
            for v in vs:
                with relay(v, iperf_port) as r:
                    cpu0 = r.cpu_seconds()
                    gbits = iperf(r.port, seconds)
                    cpu = r.cpu_seconds() - cpu0
                results[v.name].gbits.append(gbits)
                results[v.name].cpu_per_gb.append(cpu / (gbits * seconds / 8) if r.proc else 0.0)
                print(f"  iperf3 {v.name}: {gbits:.2f} Gbit/s", file=sys.stderr, flush=True)
    return results


# ---- small requests -----------------------------------------------------------------------------

WRK_LINE = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$")


def wrk(port: int, seconds: int, connections: int, close: bool) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(
        [*cmd, f"http://{HOST}:{port}/"], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    found: dict[str, float] = {}
    scale = {"us": 1.0, "ms": 1e3, "s": 1e6}
    for line in out.splitlines():
        if m := WRK_LINE.match(line):
            found[f"p{m.group(1)}_us"] = float(m.group(2)) * scale[m.group(3)]
        elif line.startswith("Requests/sec:"):
            found["rps"] = float(line.split()[1])
        elif "Socket errors" in line or "Non-2xx" in line:
            found["errors"] = float(sum(int(n) for n in re.findall(r"\d+", line)))
    found.setdefault("errors", 0.0)
    return found


def setup_latency(port: int, count: int) -> dict[str, float]:
    """Sequential connect + one request + response + close, timed from the client (microseconds)."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            while sock.recv(4096):
                pass
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return {"p50_us": times[len(times) // 2], "p99_us": times[int(len(times) * 0.99) - 1]}


def bench_requests(vs: list[Variant], seconds: int) -> dict[str, dict[str, dict[str, float]]]:
    results: dict[str, dict[str, dict[str, float]]] = {}
    http_port = free_port()
    with server([PY, str(HERE / "httpd.py"), str(http_port), HOST], http_port):
        for v in vs:
            with relay(v, http_port) as r:
                cpu0 = r.cpu_seconds()
                keepalive = wrk(r.port, seconds, 32, close=False)
                # Relay CPU per request: steadier than req/s when other work shares the two cores.
                keepalive["cpu_us_per_req"] = (r.cpu_seconds() - cpu0) * 1e6 / max(1.0, keepalive["rps"] * seconds)
                results[v.name] = {
                    "keepalive": keepalive,
                    "close": wrk(r.port, seconds, 32, close=True),
                    "sequential": setup_latency(r.port, 300),
                }
            print(f"  wrk {v.name}: {results[v.name]}", file=sys.stderr, flush=True)
    return results


# ---- many held connections ----------------------------------------------------------------------

REQUEST = b"GET / HTTP/1.1\r\nHost: b\r\n\r\n"
ANSWER_LEN = len(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")


async def hold(port: int, count: int, r: Relay) -> dict[str, float]:
    """Open `count` connections at once, one request each, keep them all open, then another request each."""
    before_rss, before_pss = r.memory_kib()
    gate = asyncio.Semaphore(200)  # bounded connect burst: the listen backlog of socat is the real limit

    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        async with gate:
            try:
                async with asyncio.timeout(20):
                    reader, writer = await asyncio.open_connection(HOST, port)
                    writer.write(REQUEST)
                    await reader.readexactly(ANSWER_LEN)
                return reader, writer
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                return None

    conns = await asyncio.gather(*(open_one() for _ in range(count)))
    live = [c for c in conns if c is not None]
    after_rss, after_pss = r.memory_kib()
    fds = r.fds() if r.proc else 0

    async def again(c: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
        try:
            async with asyncio.timeout(20):
                c[1].write(REQUEST)
                await c[0].readexactly(ANSWER_LEN)
            return True
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            return False

    second = await asyncio.gather(*(again(c) for c in live))
    for _, writer in live:
        writer.close()
    return {
        "opened": len(live),
        "errors": (count - len(live)) + second.count(False),
        "rss_kib_per_conn": (after_rss - before_rss) / max(1, len(live)),
        "pss_kib_per_conn": (after_pss - before_pss) / max(1, len(live)),
        "rss_before_kib": before_rss,
        "rss_after_kib": after_rss,
        "fds": fds,
    }


def bench_hold(vs: list[Variant], count: int) -> dict[str, dict[str, float]]:
    results = {}
    http_port = free_port()
    with server([PY, str(HERE / "httpd.py"), str(http_port), HOST], http_port):
        for v in vs:
            if v.kind == "direct":
                continue
            with relay(v, http_port) as r:
                results[v.name] = asyncio.run(hold(r.port, count, r))
            print(f"  hold {v.name}: {results[v.name]}", file=sys.stderr, flush=True)
    return results


# ---- report -------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load": loadavg(),
    }


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(meta: dict[str, str], tp: dict[str, Throughput], rq: dict, hd: dict) -> str:
    lines = [f"Run {meta['date']} on {meta['cpu']}, kernel {meta['kernel']}, Python {meta['python']}, "
             f"every path on {HOST};",
             f"load average (1, 5, 15 min) at start {meta['load_start']}, after throughput "
             f"{meta['load_after_throughput']}, after requests {meta['load_after_requests']}, "
             f"at end {meta['load_end']} (the held socat connections are 1,000 processes).", ""]  # fmt: skip
    if tp:
        lines += ["| path | iperf3 Gbit/s (median) | min-max | relay CPU s per GB |", "|---|---|---|---|"]
        for name, t in tp.items():
            cpu = f"{statistics.median(t.cpu_per_gb):.2f}" if name != "direct" else "-"
            lines.append(
                f"| {name} | {statistics.median(t.gbits):.2f} | {min(t.gbits):.2f}-{max(t.gbits):.2f} | {cpu} |"
            )
        lines.append("")
        lines += ratios({name: statistics.median(t.gbits) for name, t in tp.items()}, "iperf3")
    if rq:
        lines += ratios({name: r["keepalive"].get("rps", 0.0) for name, r in rq.items()}, "keep-alive req/s")
        lines += [
            "| path | keep-alive req/s | p50 / p99 us | relay CPU us/req | new conn per req: req/s | p50 / p99 us "
            "| sequential connect+req p50 / p99 us | wrk errors |",
            "|---" * 8 + "|",
        ]
        for name, r in rq.items():
            k, c, s = r["keepalive"], r["close"], r["sequential"]
            cpu = f"{k['cpu_us_per_req']:.1f}" if name != "direct" else "-"
            lines.append(
                f"| {name} | {k.get('rps', 0):.0f} | {k.get('p50_us', 0):.0f} / {k.get('p99_us', 0):.0f} | {cpu} "
                f"| {c.get('rps', 0):.0f} | {c.get('p50_us', 0):.0f} / {c.get('p99_us', 0):.0f} "
                f"| {s['p50_us']:.0f} / {s['p99_us']:.0f} | {k['errors'] + c['errors']:.0f} |"
            )
        lines.append("")
    if hd:
        lines += ["| path | held open | errors | RSS KiB/conn | PSS KiB/conn | relay fds |", "|---" * 6 + "|"]
        for name, h in hd.items():
            lines.append(
                f"| {name} | {h['opened']:.0f} | {h['errors']:.0f} | {h['rss_kib_per_conn']:.1f} "
                f"| {h['pss_kib_per_conn']:.1f} | {h['fds']:.0f} |"
            )
    return "\n".join(lines)


def ratios(figures: dict[str, float], what: str) -> list[str]:
    """The issue's yardsticks: each forwarder path against socat and against a direct connection."""
    socat, direct = figures.get("socat"), figures.get("direct")
    out = []
    for name, value in figures.items():
        if name.startswith("forwarder") and socat and direct:
            out.append(f"{what}, {name}: {value / socat:.2f}x socat, {value / direct:.2f}x direct")
    return [*out, ""] if out else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="iperf3 and wrk duration per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="iperf3 rounds over all variants")
    parser.add_argument("--connections", type=int, default=1000, help="connections held open at once")
    parser.add_argument("--only", action="append", help="substring of variant names to keep (repeatable)")
    parser.add_argument("--skip", action="append", default=[], choices=["throughput", "requests", "hold"])
    parser.add_argument("--json", type=Path, help="also write raw results here")
    parser.add_argument("--private-netns", action="store_true",
                        help="run.sh passes this under `unshare -n` (root): adds the kernel path, on 192.0.2.1")
    args = parser.parse_args()
    if args.private_netns:
        enter_private_netns()
    for tool in ("iperf3", "socat", "wrk"):
        if shutil.which(tool) is None:
            print(f"missing {tool}: apt-get install -y iperf3 socat wrk", file=sys.stderr)
            return 2
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    vs = variants(args.only)
    meta = machine()
    meta["load_start"] = meta.pop("load")
    tp = bench_throughput(vs, args.seconds, args.repeat) if "throughput" not in args.skip else {}
    meta["load_after_throughput"] = loadavg()
    rq = bench_requests(vs, args.seconds) if "requests" not in args.skip else {}
    meta["load_after_requests"] = loadavg()
    hd = bench_hold(vs, args.connections) if "hold" not in args.skip else {}
    meta["load_end"] = loadavg()
    print(report(meta, tp, rq, hd))
    if args.json:
        raw = {"meta": meta, "throughput": {k: vars(v) for k, v in tp.items()}, "requests": rq, "hold": hd}
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
