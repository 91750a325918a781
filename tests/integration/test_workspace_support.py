"""A recording stand-in for the kind CLI, written into tmp_path by the tests; holds no tests itself.

The stand-in is a small Python executable: it appends every invocation (argv, and for `create cluster`
the config file's text) to calls.jsonl, keeps the "clusters" it created in clusters.json, writes the
fake API's kubeconfig wherever --kubeconfig asks, and can be told to fail or hang per command.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = '''#!{python}
import fcntl, json, os, pathlib, sys, time
STATE = pathlib.Path({state!r})
KUBECONFIG = pathlib.Path({kubeconfig!r})
args = sys.argv[1:]

def flag(name):
    return args[args.index(name) + 1] if name in args else None

record = {{"argv": args, "pid": os.getpid()}}
if args[:2] == ["create", "cluster"]:
    record["config"] = pathlib.Path(flag("--config")).read_text()
with (STATE / "calls.jsonl").open("a") as log:
    log.write(json.dumps(record) + "\\n")
behaviour = json.loads((STATE / "behaviour.json").read_text()).get(" ".join(args[:2]))
if behaviour == "fail":
    print("ERROR: failed to create cluster: Cannot connect to the Docker daemon", file=sys.stderr)
    sys.exit(1)
if behaviour == "hang":
    time.sleep(3600)
# Like kind's own state, clusters.json is read and changed by one invocation at a time: concurrent
# creates of different clusters must not lose each other's entry.
lock = (STATE / "clusters.lock").open("w")
fcntl.flock(lock, fcntl.LOCK_EX)
clusters_file = STATE / "clusters.json"
clusters = json.loads(clusters_file.read_text())
if args[:2] == ["get", "clusters"]:
    if clusters:
        print("\\n".join(clusters))
    else:
        print("No kind clusters found.", file=sys.stderr)
elif args[:2] == ["create", "cluster"]:
    name = flag("--name")
    if name in clusters:
        print(f"ERROR: failed to create cluster: node(s) already exist for a cluster with the name \\"{{name}}\\"",
              file=sys.stderr)
        sys.exit(1)
    pathlib.Path(flag("--kubeconfig")).write_text(KUBECONFIG.read_text())
    clusters_file.write_text(json.dumps(sorted(clusters + [name])))
elif args[:2] == ["export", "kubeconfig"]:
    if flag("--name") not in clusters:
        print("ERROR: could not locate any control plane nodes", file=sys.stderr)
        sys.exit(1)
    pathlib.Path(flag("--kubeconfig")).write_text(KUBECONFIG.read_text())
elif args[:2] == ["delete", "cluster"]:
    clusters_file.write_text(json.dumps([c for c in clusters if c != flag("--name")]))
else:
    print(f"ERROR: unknown command {{args}}", file=sys.stderr)
    sys.exit(2)
'''


@dataclass
class KindStandIn:
    directory: Path
    binary: Path

    @classmethod
    def install(cls, directory: Path, kubeconfig: Path, *, clusters: list[str] | None = None) -> KindStandIn:
        directory.mkdir(parents=True, exist_ok=True)
        binary = directory / "kind"
        binary.write_text(SCRIPT.format(python=sys.executable, state=str(directory), kubeconfig=str(kubeconfig)))
        binary.chmod(0o755)
        (directory / "clusters.json").write_text(json.dumps(clusters or []))
        (directory / "behaviour.json").write_text("{}")
        (directory / "calls.jsonl").write_text("")
        return cls(directory=directory, binary=binary)

    def calls(self) -> list[dict[str, Any]]:
        text = (self.directory / "calls.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines() if line]

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]

    def creates(self) -> list[dict[str, Any]]:
        return [call for call in self.calls() if call["argv"][:2] == ["create", "cluster"]]

    def clusters(self) -> list[str]:
        found: list[str] = json.loads((self.directory / "clusters.json").read_text())
        return found

    def behave(self, command: str, behaviour: str) -> None:
        """Make `command` ("create cluster", "get clusters", ...) "fail" or "hang" from now on."""
        path = self.directory / "behaviour.json"
        current = json.loads(path.read_text())
        current[command] = behaviour
        path.write_text(json.dumps(current))
