"""The body of `submit`: a run.yaml / run.json file, or the few flags mapped onto POST /run's fields."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

Json = dict[str, Any]


class RequestError(Exception):
    """The request file or flags cannot make a request body."""


def from_file(path: Path) -> Json:
    """A YAML or JSON file (JSON is YAML) holding one POST /run body."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as error:
        raise RequestError(f"{path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise RequestError(f"{path} is neither YAML nor JSON: {error}") from error
    if not isinstance(loaded, dict):
        raise RequestError(f"{path} must hold one object (the POST /run body), not {type(loaded).__name__}")
    return loaded


def from_flags(args: argparse.Namespace) -> Json:
    """`--workspace --app --git [--revision] [--port] [--dependencies] [--env K=V]` as a POST /run body."""
    missing = [flag for flag, value in (("--workspace", args.workspace), ("--app", args.app), ("--git", args.git))
               if not value]
    if missing:
        raise RequestError("give a request file, or " + ", ".join(missing))
    app: Json = {"name": args.app}
    if args.port is not None:
        app["port"] = args.port
    if args.env:
        app["env"] = dict(_pair(item) for item in args.env)
    source: Json = {"type": "git", "url": args.git}
    if args.revision:
        source["revision"] = args.revision
    spec: Json = {"workspace": args.workspace, "app": app, "source": source}
    if args.dependencies is not None:
        spec["dependencies"] = [name.strip() for name in args.dependencies.split(",") if name.strip()]
    if args.dependency:
        spec["dependency"] = {"type": args.dependency}
    return spec


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise RequestError(f"--env takes KEY=VALUE, not {item!r}")
    return key, value


def request_body(args: argparse.Namespace) -> Json:
    flags = [flag for flag in ("workspace", "app", "git", "revision", "port", "dependencies", "dependency", "env")
             if getattr(args, flag) not in (None, [])]
    if args.file is not None:
        if flags:
            raise RequestError(f"give a request file or flags, not both (also given: --{', --'.join(flags)})")
        return from_file(Path(args.file))
    return from_flags(args)
