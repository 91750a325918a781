"""The `tekton-runner` command: `serve` runs the service, `forward` runs one port relay, `store copy` moves
the SQLite state into PostgreSQL, and the client commands (submit, runs, status, logs, delete, endpoint) talk
to a running service (tekton_runner/client)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .client.commands import add_commands


def _serve(args: argparse.Namespace) -> int:
    # The service's modules are imported here, not at the top: the client commands start without them.
    from aiohttp import web
    from pydantic import ValidationError

    from .app import create_app
    from .forwarding import raise_fd_limit
    from .handlers.access import AccessLogger, access_log
    from .kube.client import KubeConfigError
    from .models import logcontext
    from .models.environment import explain, missing_settings, settings_from_env

    try:
        settings = settings_from_env(
            os.environ, host=args.host, port=args.port, kubeconfig=args.kubeconfig,
            eventlistener_url=args.eventlistener_url, database=args.database,
        )
    except ValidationError as error:
        if unset := missing_settings(error):
            print("tekton-runner: required settings are not set: " + "; ".join(unset), file=sys.stderr)
        if invalid := explain(error, missing=not unset):
            print(f"tekton-runner: invalid settings:\n{invalid}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"tekton-runner: invalid settings: {error}", file=sys.stderr)
        return 2
    logcontext.configure(level=getattr(logging, args.log_level.upper()), format=settings.log_format)
    if settings.forward:
        raise_fd_limit()  # each relayed connection holds a few descriptors
    try:
        web.run_app(create_app(settings), host=settings.host, port=settings.port, loop=_event_loop(args.loop),
                    print=None, shutdown_timeout=15.0, access_log=access_log, access_log_class=AccessLogger)
    except KubeConfigError as error:
        print(f"tekton-runner: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the listen address is taken or not ours
        print(f"tekton-runner: cannot serve on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 1
    return 0


def _event_loop(name: str | None) -> asyncio.AbstractEventLoop:
    """The serving loop: uvloop (a dependency on Linux; its transports cost less CPU per request) unless
    `--loop asyncio` asks for the standard library's, which is also used where uvloop is not installed."""
    if name != "asyncio":
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise SystemExit("tekton-runner: --loop uvloop needs the uvloop package installed") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _store_copy(args: argparse.Namespace) -> int:
    """Exit codes: 0 copied, 1 refused or failed (the target unchanged), 2 no target named."""
    from urllib.parse import urlsplit

    from .models.settings import server_location
    from .store.copying import copy_store

    url = args.to or os.environ.get("TEKTON_RUNNER_DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        print("tekton-runner: store copy needs --to postgresql://… (or TEKTON_RUNNER_DATABASE_URL)", file=sys.stderr)
        return 2
    password = urlsplit(url).password
    target = server_location(url)
    print(f"copying {args.source} into {target}", flush=True)
    try:
        held = asyncio.run(copy_store(Path(args.source), url, replace=args.replace,
                                      report=lambda line: print(f"  {line}", flush=True)))
    except Exception as error:  # every failure ends the same way: the transaction is undone
        message = f"{type(error).__name__}: {error}"
        print(f"tekton-runner: store copy into {target} did not happen, the target is unchanged: "
              f"{message.replace(password, '***') if password else message}", file=sys.stderr)
        return 1
    print(f"copied and verified: {', '.join(f'{name} {count}' for name, count in held.items())}", flush=True)
    return 0


def _forward(argv: Sequence[str]) -> int:
    from .forwarding import main as forward_main

    return forward_main(list(argv))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tekton-runner", description="Source to a running preview app.")
    parser.add_argument("--version", action="version", version=f"tekton-runner {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service (settings: TEKTON_RUNNER_* variables)")
    serve.add_argument("--host", default=None, help="listen address (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="listen port (default 8088)")
    serve.add_argument("--kubeconfig", default=None, help="cluster of the workspaces (default $KUBECONFIG)")
    serve.add_argument("--eventlistener-url", default=None, help="where build requests go")
    serve.add_argument("--database", default=None, help="SQLite file (default <data dir>/state.sqlite3)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--loop", default=None, choices=["uvloop", "asyncio"],
                       help="event loop (default uvloop where installed, else asyncio)")
    serve.set_defaults(handler=_serve)
    store = commands.add_parser("store", help="act on the runner's state database (stop the runner first)")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    copy = store_commands.add_parser(
        "copy", help="copy the SQLite state into an empty PostgreSQL database, in one transaction")
    copy.add_argument("--from", dest="source", required=True, help="the SQLite file (<data dir>/state.sqlite3)")
    copy.add_argument("--to", default=None,
                      help="postgresql://… URL (default $TEKTON_RUNNER_DATABASE_URL, which keeps the password "
                           "off the command line)")
    copy.add_argument("--replace", action="store_true", help="empty a target that holds rows, then copy")
    copy.set_defaults(handler=_store_copy)
    commands.add_parser("forward", help="relay one TCP port: forward --listen [HOST:]PORT --target HOST:PORT",
                        add_help=False)
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["forward"]:
        return _forward(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
