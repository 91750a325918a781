"""One replica's elector and nothing else, for the failover benchmark (bench/failover/run.py).

Prints a JSON line with the wall time on each change of leadership; SIGTERM stops it cleanly (the Lease
is released), SIGKILL does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

from tekton_runner.kube import Kube, LeaderElector, Leases, LeaseTerms
from tekton_runner.models.clock import SYSTEM_CLOCK


async def _changed(identity: str, leading: bool) -> None:
    print(json.dumps({"identity": identity, "leading": leading, "at": time.time()}), flush=True)


async def main(args: argparse.Namespace) -> None:
    terms = LeaseTerms(name=args.lease, namespace=args.namespace, identity=args.identity, duration=args.duration,
                       renew_deadline=args.renew_deadline, retry_period=args.retry_period)
    async with Kube.connect(args.kubeconfig) as kube:
        elector = LeaderElector(Leases(kube, name=terms.name, namespace=terms.namespace), terms,
                                clock=SYSTEM_CLOCK, on_change=lambda leading: _changed(args.identity, leading))
        task = asyncio.get_running_loop().create_task(elector.run())
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--lease", default="tekton-runner")
    parser.add_argument("--identity", required=True)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--renew-deadline", type=float, default=10.0)
    parser.add_argument("--retry-period", type=float, default=2.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
