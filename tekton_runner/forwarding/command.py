"""The `forward` verb: one relay from the command line, on the same ForwardTable the service uses."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys
from collections.abc import Callable
from typing import cast

from prometheus_client import CollectorRegistry

from .errors import ForwardError
from .plane import forward_plane
from .relaying import EngineName, RelayOptions
from .stats import Address
from .table import ForwardTable

CLI_MAPPING = "cli"


def parse_address(text: str, *, default_host: str | None = None) -> Address:
    """Parse HOST:PORT, [V6]:PORT or, when a default host is given, a bare PORT."""
    host, sep, port = text.rpartition(":")
    if not sep:
        if default_host is None:
            raise ValueError(f"{text!r}: expected HOST:PORT")
        host, port = default_host, text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: port must be a number from 0 to 65535")
    return Address(host, int(port))


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one (a relayed connection costs up to six fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tekton-runner forward", description="Relay TCP from a local port to a target."
    )
    parser.add_argument("--listen", required=True, help="[HOST:]PORT to listen on (host default 0.0.0.0)")
    parser.add_argument("--target", required=True, help="HOST:PORT to relay every connection to")
    parser.add_argument("--engine", choices=["auto", "splice", "splice-always", "transports", "dnat"], default="auto",
                        help="dnat: an nftables rule in the table --nft-table (needs CAP_NET_ADMIN and nft)")
    parser.add_argument("--nft-table", default="tekton_runner_cli", help="the table --engine dnat owns")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--idle-timeout", type=float, default=600.0, help="seconds; 0 disables")
    parser.add_argument("--connect-timeout", type=float, default=5.0)
    parser.add_argument("--stats-interval", type=float, default=0.0, help="print counters every N seconds")
    return parser


def _stopper() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _serve_dnat(listen: Address, target: Address, table: str, stats_every: float) -> int:
    """The kernel path as the service runs it: the plane with its listener and the rule in front of it."""
    stop = _stopper()
    try:
        async with forward_plane(listen.host, registry=CollectorRegistry(), engine="dnat", nft_table=table) as plane:
            await plane.publish(listen.port, target.host, target.port)
            print(f"listening {listen} -> {target} by dnat (nft table {table})", flush=True)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(stats_every or None):
                        await stop.wait()
                if stats_every:
                    await plane.refresh()
                    print(plane.describe(listen.port), file=sys.stderr, flush=True)
    except ForwardError as exc:
        print(f"tekton-runner forward: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(listen: Address, target: Address, options: RelayOptions, stats_every: float) -> int:
    stop = _stopper()
    async with ForwardTable(options) as table:
        try:
            bound = await table.open(CLI_MAPPING, listen.host, listen.port, target.host, target.port)
        except ForwardError as exc:
            print(f"tekton-runner forward: {exc}", file=sys.stderr)
            return 1
        print(f"listening {bound} -> {target}", flush=True)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(stats_every or None):
                    await stop.wait()
            if stats_every:
                print(table.stats(CLI_MAPPING), file=sys.stderr, flush=True)
    return 0


def main(argv: list[str]) -> int:
    """Run one mapping until SIGINT/SIGTERM; exit 0 then, 1 if the port is taken or nft refuses, 2 on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        listen = parse_address(args.listen, default_host="0.0.0.0")
        target = parse_address(args.target)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    raise_fd_limit()
    if args.engine == "dnat":
        return asyncio.run(_serve_dnat(listen, target, args.nft_table, args.stats_interval))
    options = RelayOptions(
        engine=cast(EngineName, args.engine),
        connect_timeout=args.connect_timeout,
        idle_timeout=args.idle_timeout or None,
    )
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            parser.error("--loop uvloop needs the uvloop package installed")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_serve(listen, target, options, args.stats_interval))
