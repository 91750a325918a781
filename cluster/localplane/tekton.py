"""Tekton and Triggers objects for the local plane.

CRDs and ConfigMaps are read from the Go module cache at run time (never copied into this repo) and
patched in memory: the conversion webhook stanza is dropped because no Tekton webhook runs here, and
every object we create is tekton.dev/v1 anyway. Then the repository's triggers/ directory is applied.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import TEKTON_NAMESPACE


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


# libyaml when PyYAML has it: the Tekton CRDs are megabytes of YAML
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_docs(*files: Path) -> Iterator[dict[str, Any]]:
    for f in files:
        for doc in yaml.load_all(f.read_text(), Loader=_Loader):
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


INTERCEPTORS_SECRET = "tekton-triggers-core-interceptors-certs"
INTERCEPTORS_PORT = 8443  # fixed in Triggers' cmd/interceptors


def core_interceptors(triggers_dir: Path, ca_pem: str) -> list[dict[str, Any]]:
    """The core ClusterInterceptors, pointed at the interceptors process on loopback.

    In a cluster they name a Service; here they carry a URL instead, and the CA that signed the
    interceptors' serving certificate (the same bundle cmd/interceptors itself would write there).
    """
    import base64

    docs = load_docs(triggers_dir / "config" / "interceptors" / "core-interceptors.yaml")
    result = []
    for doc in docs:
        if doc.get("kind") != "ClusterInterceptor":
            continue
        path = doc["spec"]["clientConfig"].get("service", {}).get("path", doc["metadata"]["name"])
        doc["spec"]["clientConfig"] = {
            "url": f"https://127.0.0.1:{INTERCEPTORS_PORT}/{path}",
            "caBundle": base64.b64encode(ca_pem.encode()).decode(),
        }
        result.append(doc)
    return result


def interceptors_secret(pki: Path) -> dict[str, Any]:
    """Serving certificate for cmd/interceptors, which reuses a Secret whose three keys are filled."""
    import base64

    def b64(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": INTERCEPTORS_SECRET, "namespace": TEKTON_NAMESPACE},
            "data": {"server-key.pem": b64("interceptors.key"), "server-cert.pem": b64("interceptors.crt"),
                     "ca-cert.pem": b64("ca.crt")}}


@dataclass(frozen=True)
class EventListenerRef:
    name: str
    namespace: str


BUILD_NAMESPACE = "tekton-builds"


def local_settings(repo_settings: Path, overrides: dict[str, str]) -> str:
    """triggers/settings.env with the keys the local plane must differ on replaced."""
    lines, seen = [], set()
    for line in repo_settings.read_text().splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if key in overrides:
            lines.append(f"{key}={overrides[key]}")
            seen.add(key)
        else:
            lines.append(line)
    lines += [f"{k}={v}" for k, v in overrides.items() if k not in seen]
    return "\n".join(lines) + "\n"


def render_triggers(repo_triggers: Path, overlay_dir: Path, kubectl: Path, overrides: dict[str, str], *,
                    extra_components: Sequence[str] = (),
                    patches: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The repository's triggers/ rendered as an overlay with local settings.

    triggers/ is built for overlays (base/ + components/settings + a settings.env); the local plane
    brings its own settings: the runner and the registry on loopback, and a build namespace of its own
    whose Pod Security level admits root build steps (Tekton's own namespace enforces "restricted", and
    the API server's Pod Security admission applies that here exactly as in a real cluster).
    `components` names more of triggers/components/ (as an operator lists them), `patches` are the
    overlay's own kustomize patches.
    """
    base, component = repo_triggers / "base", repo_triggers / "components" / "settings"
    if not (base.is_dir() and component.is_dir() and (repo_triggers / "settings.env").is_file()):
        raise RuntimeError(f"{repo_triggers} does not have base/, components/settings/ and settings.env")
    overlay_dir.mkdir(parents=True, exist_ok=True)
    (overlay_dir / "settings.env").write_text(local_settings(repo_triggers / "settings.env", overrides))
    resources = [os.path.relpath(base, overlay_dir)]
    components = [os.path.relpath(component, overlay_dir)]
    build_ns_component = repo_triggers / "components" / "build-namespace"
    if build_ns_component.is_dir():
        # triggers/ creates the build namespace itself, labelled with its build_pod_security setting
        components.append(os.path.relpath(build_ns_component, overlay_dir))
    else:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": overrides["build_namespace"],
            "labels": {"pod-security.kubernetes.io/enforce": "baseline",
                       "app.kubernetes.io/part-of": "tekton-runner"}}}
        (overlay_dir / "namespace.yaml").write_text(yaml.safe_dump(namespace))
        resources.insert(0, "namespace.yaml")
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": resources,
        "configMapGenerator": [{
            "name": "tekton-runner-triggers-settings", "namespace": TEKTON_NAMESPACE,
            "envs": ["settings.env"],
            "options": {"disableNameSuffixHash": True, "labels": {"app.kubernetes.io/part-of": "tekton-runner"}},
        }],
        "components": components + [os.path.relpath(repo_triggers / "components" / name, overlay_dir)
                                    for name in extra_components],
        **({"patches": list(patches)} if patches else {}),
    }
    (overlay_dir / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    proc = subprocess.run([str(kubectl), "kustomize", str(overlay_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay_dir} failed:\n{proc.stderr}")
    return [d for d in yaml.load_all(proc.stdout, Loader=_Loader) if d]


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
