"""Tekton and Triggers objects for the local plane.

CRDs and ConfigMaps are read from the Go module cache at run time (never copied into this repo) and
patched in memory: the conversion webhook stanza is dropped because no Tekton webhook runs here, and
every object we create is tekton.dev/v1 anyway. Then the repository's triggers/ directory is applied.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import REPO_DIR, TEKTON_NAMESPACE

FIXTURE_TRIGGERS = REPO_DIR / "tests" / "e2e" / "fixtures" / "triggers"


def module_dir(module: str, version: str) -> Path:
    """Directory of module@version in the Go module cache, downloading it if it is not there yet."""
    gomodcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True,
                                check=True).stdout.strip()
    escaped = "".join("!" + c.lower() if c.isupper() else c for c in module)
    path = Path(gomodcache) / f"{escaped}@{version}"
    if not path.is_dir():
        subprocess.run(["go", "mod", "download", f"{module}@{version}"], check=True,
                       env={**os.environ, "GOFLAGS": "-mod=mod"}, cwd="/")
    if not path.is_dir():
        raise RuntimeError(f"{module}@{version} is not in the module cache at {path}")
    return path


def load_docs(*files: Path) -> Iterator[dict[str, Any]]:
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if doc:
                yield doc


def pipeline_crds(pipeline_dir: Path) -> list[dict[str, Any]]:
    crds = []
    for doc in load_docs(*sorted((pipeline_dir / "config" / "300-crds").glob("*.yaml"))):
        if doc.get("kind") == "CustomResourceDefinition":
            doc["spec"]["conversion"] = {"strategy": "None"}
            crds.append(doc)
    return crds


def pipeline_namespaces(pipeline_dir: Path) -> list[dict[str, Any]]:
    return [d for d in load_docs(*sorted((pipeline_dir / "config" / "100-namespace").glob("*.yaml")))
            if d.get("kind") == "Namespace"]


def config_maps(module_dir_: Path) -> list[dict[str, Any]]:
    docs = load_docs(*sorted((module_dir_ / "config").glob("config-*.yaml")))
    return [d for d in docs if d.get("kind") == "ConfigMap"]


def triggers_crds(triggers_dir: Path) -> list[dict[str, Any]]:
    docs = load_docs(*sorted((triggers_dir / "config").glob("300-*.yaml")))
    return [d for d in docs if d.get("kind") == "CustomResourceDefinition"]


def events_sink_patch(sink: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-events", "namespace": TEKTON_NAMESPACE},
            "data": {"sink": sink, "formats": "tektonv1"}}


@dataclass(frozen=True)
class EventListenerRef:
    name: str
    namespace: str


def triggers_source(repo_triggers: Path = REPO_DIR / "triggers") -> Path:
    """The repository's triggers/ when it holds manifests, else the minimal e2e fixture."""
    if any(repo_triggers.rglob("*.yaml")) or any(repo_triggers.rglob("*.yml")):
        return repo_triggers
    return FIXTURE_TRIGGERS


def render_triggers(source: Path, kubectl: Path) -> list[dict[str, Any]]:
    if (source / "kustomization.yaml").exists() or (source / "kustomization.yml").exists():
        out = subprocess.run([str(kubectl), "kustomize", str(source)], capture_output=True, text=True,
                             check=True).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    files = sorted([*source.rglob("*.yaml"), *source.rglob("*.yml")])
    return list(load_docs(*files))


def find_eventlistener(docs: list[dict[str, Any]]) -> EventListenerRef:
    listeners = [d for d in docs if d.get("kind") == "EventListener"]
    if not listeners:
        raise RuntimeError("no EventListener among the triggers manifests")
    wanted = os.environ.get("TEKTON_RUNNER_EVENTLISTENER_NAME")
    for el in listeners:
        meta = el["metadata"]
        if wanted is None or meta["name"] == wanted:
            return EventListenerRef(meta["name"], meta.get("namespace") or "default")
    raise RuntimeError(f"EventListener {wanted} not found among the triggers manifests")
