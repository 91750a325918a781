#!/usr/bin/env python3
"""Command line for the local control plane: build, up, down, status, env, sink.

    python3 cluster/ctl.py up [--events-sink URL] [--no-selfcheck]
    python3 cluster/ctl.py down
    python3 cluster/ctl.py status        # exit 0 when every component runs and the API server is ready
    python3 cluster/ctl.py env           # the KEY=value lines of $STATE/cluster.env
    python3 cluster/ctl.py sink URL      # where Tekton's events controller posts CloudEvents
    python3 cluster/ctl.py restart NAME  # stop and start one component (e.g. tekton-events)
    python3 cluster/ctl.py node up|down|status|env   # the real node (kubelet + containerd), an add-on
    python3 cluster/ctl.py node hosts [add NAME [ADDRESS] | remove NAME]   # host names the node is told
    python3 cluster/ctl.py images [NAME...]          # build (cached) and push images for the real node
    python3 cluster/ctl.py listener up NAME --set build_namespace=NS [--set KEY=VALUE...]
        [--component NAME...] [--patches FILE]       # another install of triggers/ with its own EventListener
    python3 cluster/ctl.py listener down NAME

`up --real-node` (or TEKTON_RUNNER_REAL_NODE=1) starts the real node after the plane.

State lives in ${TEKTON_RUNNER_CLUSTER_DIR:-/tmp/tekton-runner-cluster}, binaries in
${TEKTON_RUNNER_CACHE:-~/.cache/tekton-runner}/bin. Needs Python 3.11+ with PyYAML.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import ipaddress
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localplane import names
from localplane.listeners import Listener
from localplane.node import Node
from localplane.plane import Plane, say
from localplane.toolimages import ALL_RECIPES as RECIPES


@contextlib.contextmanager
def exclusive(state: Path) -> Iterator[None]:
    """One up/down/restart at a time per state directory (test sessions may race to start the plane)."""
    lock_path = state.parent / f".{state.name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster/ctl.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build if needed, start everything, wait until ready")
    up.add_argument("--events-sink", help="URL for Tekton's CloudEvents (default: the runner's /cloudevents)")
    up.add_argument("--no-selfcheck", action="store_true", help="skip the self-check TaskRun")
    up.add_argument("--real-node", action="store_true", default=os.environ.get("TEKTON_RUNNER_REAL_NODE") == "1",
                    help="also start the real node (default from TEKTON_RUNNER_REAL_NODE=1)")
    sub.add_parser("down", help="stop every process by its PID file")
    sub.add_parser("status", help="show which components run")
    sub.add_parser("env", help="print cluster.env")
    sub.add_parser("build", help="build the binaries only (cluster/build.sh)")
    restart = sub.add_parser("restart", help="stop and start one component with the same arguments")
    restart.add_argument("component", choices=Plane.COMPONENTS)
    sink = sub.add_parser("sink", help="point Tekton's events controller at URL")
    sink.add_argument("url")
    node = sub.add_parser("node", help="the real node: kubelet, kube-proxy, containerd, CoreDNS")
    node_sub = node.add_subparsers(dest="action", required=True)
    for action in ("up", "down", "status", "env"):
        node_sub.add_parser(action)
    hosts = node_sub.add_parser("hosts", help="list, tell or untell host names (/etc/hosts and the cluster DNS)")
    hosts_sub = hosts.add_subparsers(dest="op")
    add = hosts_sub.add_parser("add", help="tell the node NAME at ADDRESS (default: the registry's address)")
    add.add_argument("name")
    add.add_argument("address", nargs="?")
    remove = hosts_sub.add_parser("remove", help="the node forgets NAME (only lines it wrote)")
    remove.add_argument("name")
    images = sub.add_parser("images", help="build and push the node's and the builds' images; print their references")
    images.add_argument("names", nargs="*", metavar="NAME", help=f"some of: {' '.join(RECIPES)} (default: all)")
    listener = sub.add_parser("listener", help="another install of triggers/ beside the plane's, with its own "
                                               "settings and EventListener; prints the runner's settings for it")
    listener.add_argument("action", choices=("up", "down"))
    listener.add_argument("name")
    listener.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="a triggers/settings.env value (build_namespace is required)")
    listener.add_argument("--component", action="append", default=[], metavar="NAME",
                          help="a component of triggers/components/ to add")
    listener.add_argument("--patches", type=Path, help="a JSON file with a list of kustomize patches")
    args = parser.parse_args(argv)

    plane = Plane()
    if args.cmd == "build":
        return subprocess.run(["bash", str(Path(__file__).resolve().parent / "build.sh")]).returncode
    if args.cmd == "up":
        try:
            with exclusive(plane.layout.state):
                plane.up(events_sink=args.events_sink, selfcheck=not args.no_selfcheck)
                if args.real_node:
                    Node(plane).up()
        except Exception as err:
            say(f"cluster-up failed: {err}")
            return 1
        return 0
    if args.cmd == "down":
        with exclusive(plane.layout.state):
            plane.down()
        return 0
    if args.cmd == "status":
        for name, alive in plane.status().items():
            print(f"{name:26} {'running' if alive else 'stopped'}")
        up_now = plane.is_up()
        print(f"{'ready':26} {'yes' if up_now else 'no'}")
        return 0 if up_now else 1
    if args.cmd == "env":
        if not plane.layout.env_file.exists():
            say("the cluster is not up")
            return 1
        sys.stdout.write(plane.layout.env_file.read_text())
        return 0
    if args.cmd == "restart":
        with exclusive(plane.layout.state):
            plane.restart(args.component)
        return 0
    if args.cmd == "sink":
        plane.set_events_sink(args.url)
        return 0
    if args.cmd == "node" and args.action == "hosts":
        return hosts_command(plane, args.op, getattr(args, "name", None), getattr(args, "address", None))
    if args.cmd == "node":
        return node_command(plane, args.action)
    if args.cmd == "listener":
        return listener_command(plane, args, parser)
    if args.cmd == "images":
        unknown = sorted(set(args.names) - set(RECIPES))
        if unknown:
            parser.error(f"unknown images {unknown}; known: {' '.join(RECIPES)}")
        node_images = Node(plane).images
        for name in args.names or list(RECIPES):
            print(f"{name}={node_images.push(name)}")
        return 0
    return 2


def listener_command(plane: Plane, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    listener = Listener(plane, args.name)
    if args.action == "down":
        with exclusive(plane.layout.state):
            listener.down()
        return 0
    settings = dict(item.split("=", 1) for item in args.set if "=" in item)
    if "build_namespace" not in settings:
        parser.error("listener up needs --set build_namespace=NAMESPACE (a namespace of its own)")
    patches = json.loads(args.patches.read_text()) if args.patches else []
    if not plane.is_up():
        say("the plane is not up: run `cluster/ctl.py up` first")
        return 1
    with exclusive(plane.layout.state):
        env = listener.up(settings, args.component, patches)
    for key, value in env.items():
        print(f"{key}={shlex.quote(value)}")
    return 0


def node_command(plane: Plane, action: str) -> int:
    node = Node(plane)
    if action == "up":
        try:
            with exclusive(plane.layout.state):
                node.up()
        except Exception as err:
            say(f"node up failed: {err}")
            return 1
        return 0
    if action == "down":
        with exclusive(plane.layout.state):
            node.down()
        return 0
    if action == "status":
        for name, alive in node.status().items():
            print(f"{name:26} {'running' if alive else 'stopped'}")
        up_now = plane.is_up() and node.is_up()
        print(f"{'node ' + node.name + ' ready':26} {'yes' if up_now else 'no'}")
        return 0 if up_now else 1
    for key, value in node.env().items():
        print(f"{key}={shlex.quote(value)}")
    return 0


def hosts_command(plane: Plane, op: str | None, name: str | None, address: str | None) -> int:
    """`node hosts`: list the names the node was told; `add` or `remove` one first."""
    node = Node(plane)
    if op is not None:
        try:
            names.check_name(name or "")
            if address is not None:
                ipaddress.ip_address(address)
        except ValueError as err:
            say(str(err))
            return 2
        if not node.is_up():
            say("the node is not up")
            return 1
        with exclusive(plane.layout.state):
            if op == "add":
                node.tell(name or "", address)
            else:
                node.untell(name or "")
    for told, at in sorted(node.told().items()):
        print(f"{told} {at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
