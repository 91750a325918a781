"""The client subcommands of `tekton-runner`: submit, runs, status, logs, redeploy, delete, endpoint.

Exit codes: 0 done (a followed run succeeded), 1 a followed run failed, 2 a request that cannot be sent
(bad flags or request file), 3 the runner refused the request or could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from .display import display_for
from .following import follow_run
from .http import RunnerClient, RunnerError
from .progress import PollingProgress, StreamProgress
from .requests import RequestError, request_body

Json = dict[str, Any]
DEFAULT_URL = "http://127.0.0.1:8088"
BAD_REQUEST, REFUSED = 2, 3
Command = Callable[[RunnerClient, argparse.Namespace], Awaitable[int]]


def _out(text: str) -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print_json(value: Json) -> None:
    _out(json.dumps(value, indent=2))


async def _submit(client: RunnerClient, args: argparse.Namespace) -> int:
    return await _started(client, args, await client.submit(args.body), "submitted")


async def _redeploy(client: RunnerClient, args: argparse.Namespace) -> int:
    return await _started(client, args, await client.redeploy(args.run_id), f"redeploys run {args.run_id}")


async def _started(client: RunnerClient, args: argparse.Namespace, run: Json, what: str) -> int:
    """Prints the new run, or with --follow shows it until it ends (exit code 0 only when it succeeded)."""
    if not args.follow:
        _print_json(run) if args.json else _out(f"{run['run_id']}\t{run['state']}")
        return 0
    display = display_for()
    with display:
        display.note(f"run {run['run_id']} {what} ({run['state']})")
        progress = (PollingProgress(client, interval=args.poll_interval) if args.poll_interval is not None
                    else StreamProgress(client))
        return await follow_run(client, run["run_id"], display, progress)


async def _runs(client: RunnerClient, args: argparse.Namespace) -> int:
    listing = await client.runs(state=args.state or "", workspace=args.workspace or "", app=args.app or "",
                                limit=str(args.limit or ""), cursor=args.cursor or "")
    if args.json:
        _print_json(listing)
        return 0
    for run in listing["runs"]:
        _out("\t".join((run["run_id"], run["state"], f"{run['workspace']}/{run['app']}", run["reason"])))
    if listing.get("next"):
        _err(f"more runs: add --cursor {listing['next']}")
    return 0


async def _status(client: RunnerClient, args: argparse.Namespace) -> int:
    run = await client.run(args.run_id)
    if args.json:
        _print_json(run)
        return 0
    _out(f"run {run['run_id']} ({run['workspace']}/{run['app']}): {run['state']}"
         + (f" ({run['reason']}: {run['message']})" if run["reason"] else ""))
    for step in run["steps"]:
        detail = ": ".join(part for part in (step["reason"], step["message"]) if part)
        _out(f"  {step['name']:<10} {step['state']:<9} {detail}")
    if run.get("endpoint"):
        _out(f"  endpoint   {run['endpoint'].get('external') or run['endpoint'].get('host_local')}")
    return 0


async def _logs(client: RunnerClient, args: argparse.Namespace) -> int:
    async with client.logs(args.run_id, step=args.step, follow=args.follow) as lines:
        async for line in lines:
            _out(line)
    return 0


async def _delete(client: RunnerClient, args: argparse.Namespace) -> int:
    run = await client.delete(args.run_id)
    _out(f"run {run['run_id']} {run['state']}")
    return 0


async def _endpoint(client: RunnerClient, args: argparse.Namespace) -> int:
    found = await client.endpoint(args.workspace, args.app)
    if args.json:
        _print_json(found)
        return 0
    for name in ("host_local", "external"):
        address = found[name]
        if address.get("address"):
            reachable = {True: "reachable", False: "not reachable", None: "not checked"}[address.get("reachable")]
            _out(f"{name}\t{address['address']}\t{reachable}")
    return 0


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help=f"the runner (default $TEKTON_RUNNER_URL or {DEFAULT_URL})")
    parser.add_argument("--token", default=None, help="bearer token (default $TEKTON_RUNNER_TOKEN)")


def add_commands(commands: Any) -> None:
    """Adds the client subcommands to the `tekton-runner` parser's subparsers."""
    submit = commands.add_parser("submit", help="start a run: submit run.yaml, or --workspace --app --git URL")
    submit.add_argument("file", nargs="?", help="a YAML or JSON file holding the POST /run body")
    submit.add_argument("--workspace")
    submit.add_argument("--app", help="the app's name")
    submit.add_argument("--git", metavar="URL", help="git repository to build")
    submit.add_argument("--revision", help="branch, tag or commit (default main)")
    submit.add_argument("--port", type=int, help="the port the app listens on (default 8080)")
    submit.add_argument("--dependencies", metavar="KIND[,KIND]",
                        help="dependency kinds to deploy beside the app, e.g. redis,rabbitmq (the runner checks them)")
    submit.add_argument("--dependency", choices=("none", "redis", "sql", "both"),
                        help="the older spelling: none, redis, sql (postgres) or both")
    submit.add_argument("--env", action="append", metavar="KEY=VALUE", help="app environment (repeatable)")
    submit.add_argument("-f", "--follow", action="store_true", help="show steps and the build log until it ends")
    submit.add_argument("--poll-interval", type=float, default=None,
                        help="read progress by polling GET /runs/{id} this often (seconds) instead of its stream")
    submit.add_argument("--json", action="store_true", help="print the runner's answer as JSON")
    runs = commands.add_parser("runs", help="list runs, newest first")
    runs.add_argument("--state", help="comma-separated states, e.g. building,failed")
    runs.add_argument("--workspace")
    runs.add_argument("--app")
    runs.add_argument("--limit", type=int, help="at most this many (default 100)")
    runs.add_argument("--cursor", help="the page after the one that printed this cursor")
    runs.add_argument("--json", action="store_true")
    status = commands.add_parser("status", help="one run with its steps")
    status.add_argument("run_id")
    status.add_argument("--json", action="store_true")
    logs = commands.add_parser("logs", help="a run step's container logs")
    logs.add_argument("run_id")
    logs.add_argument("--step", default="build", choices=("build", "migration", "app"))
    logs.add_argument("-f", "--follow", action="store_true", help="keep streaming until the containers end")
    redeploy = commands.add_parser("redeploy", help="deploy an ended run's image again as a new run, no build")
    redeploy.add_argument("run_id")
    redeploy.add_argument("-f", "--follow", action="store_true", help="show the new run's steps until it ends")
    redeploy.add_argument("--poll-interval", type=float, default=None,
                          help="read progress by polling GET /runs/{id} this often (seconds) instead of its stream")
    redeploy.add_argument("--json", action="store_true", help="print the runner's answer as JSON")
    delete = commands.add_parser("delete", help="stop a run and delete its objects")
    delete.add_argument("run_id")
    endpoint = commands.add_parser("endpoint", help="where an app answers")
    endpoint.add_argument("workspace")
    endpoint.add_argument("app")
    endpoint.add_argument("--json", action="store_true")
    for parser, command in ((submit, _submit), (runs, _runs), (status, _status), (logs, _logs),
                            (redeploy, _redeploy), (delete, _delete), (endpoint, _endpoint)):
        _connection(parser)
        parser.set_defaults(handler=lambda args, command=command: run_command(command, args))


async def _with_client(command: Command, args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("TEKTON_RUNNER_URL") or DEFAULT_URL
    token = args.token or os.environ.get("TEKTON_RUNNER_TOKEN") or None
    async with RunnerClient(url, token) as client:
        return await command(client, args)


def _first(group: BaseExceptionGroup[RunnerError]) -> RunnerError:
    leaf = group.exceptions[0]
    return _first(leaf) if isinstance(leaf, BaseExceptionGroup) else leaf


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Runs one client command; refused requests are printed readably and give exit code 3."""
    try:
        if command is _submit:
            args.body = request_body(args)
    except RequestError as error:
        print(f"tekton-runner: {error}", file=sys.stderr)
        return BAD_REQUEST
    refused: RunnerError | None = None
    interrupted = False
    try:
        return asyncio.run(_with_client(command, args))
    except* RunnerError as group:  # also from inside the follow's task group
        refused = _first(group)
    except* KeyboardInterrupt:
        interrupted = True
    if interrupted:
        return 130
    print(f"tekton-runner: {refused}", file=sys.stderr)
    return REFUSED
