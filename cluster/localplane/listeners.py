"""More installs of triggers/ beside the plane's own, as a second site would install it: a build
namespace, settings, components and kustomize patches of its own, and an EventListener process of its
own. The plane's install (its EventListener, TriggerTemplates and Tekton's config-events) is left as it
is, so the kwok tier and a real-node tier can share one plane. Used by `ctl.py listener up|down NAME`.

The copy's overlay deletes config-events from its output (the plane's install owns the events sink) and
renames its ClusterRoleBinding after the build namespace, so it binds that namespace's EventListener
account without taking the plane's binding away. The build Task's registry Secret is created empty
(the plane's registry asks for no credentials) unless it exists.
"""

from __future__ import annotations

import json
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import tekton
from .config import REPO_DIR, TEKTON_NAMESPACE
from .kube import http_ok
from .procs import tail, wait_for

if TYPE_CHECKING:
    from .plane import Plane

REGISTRY_SECRET = "tekton-runner-registry"  # the Secret triggers/'s TriggerTemplates bind as dockerconfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def keep_shared_objects(build_namespace: str) -> list[dict[str, Any]]:
    """The overlay's patches that leave the plane's own install alone."""
    return [
        {"patch": json.dumps({"$patch": "delete", "apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "config-events", "namespace": TEKTON_NAMESPACE}})},
        {"target": {"kind": "ClusterRoleBinding", "name": "tekton-runner-eventlistener"},
         "patch": json.dumps([{"op": "replace", "path": "/metadata/name",
                               "value": f"tekton-runner-eventlistener-{build_namespace}"}])},
    ]


@dataclass(frozen=True)
class Listener:
    plane: Plane
    name: str

    @property
    def process(self) -> str:
        return f"eventlistener-{self.name}"

    @property
    def state(self) -> Path:
        return self.plane.layout.state / "listeners" / self.name

    def up(self, settings: dict[str, str], components: list[str], patches: list[dict[str, Any]]) -> dict[str, str]:
        """Install the copy (again: every object is applied, so a changed setting lands) and start its
        EventListener unless it runs; returns the runner settings that point at it."""
        build_namespace = settings["build_namespace"]
        docs = tekton.render_triggers(
            REPO_DIR / "triggers", self.state / "overlay", self.plane.layout.binary("kubectl"),
            {"runner_url": "http://unused.invalid", **settings}, extra_components=components,
            patches=[*keep_shared_objects(build_namespace), *patches])
        kube = self.plane.kube
        kube.apply_docs([d for d in docs if d.get("kind") == "Namespace"])
        kube.apply_docs([d for d in docs if d.get("kind") != "Namespace"], server_side=True)
        if kube.get(f"/api/v1/namespaces/{build_namespace}/secrets/{REGISTRY_SECRET}") is None:
            kube.apply_docs([{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                              "metadata": {"name": REGISTRY_SECRET, "namespace": build_namespace},
                              "stringData": {".dockerconfigjson": '{"auths": {}}'}}])
        el = tekton.find_eventlistener(docs)
        saved = self.state / "listener.json"
        try:
            running = json.loads(saved.read_text())
        except (OSError, ValueError):
            running = {}
        if not self.plane.procs.alive(self.process) or running.get("el") != [el.name, el.namespace]:
            self.plane.procs.stop(self.process)
            running = {"el": [el.name, el.namespace], "port": _free_port()}
            self.plane.start_eventlistener(self.process, el, running["port"], _free_port(), _free_port())
            saved.write_text(json.dumps(running))
        url = f"http://127.0.0.1:{running['port']}/"
        wait_for(f"EventListener {self.name} /live", lambda: http_ok(f"{url}live"), 90,
                 hint=lambda: tail(self.plane.procs.log_path(self.process)))
        return {"TEKTON_RUNNER_EVENTLISTENER_URL": url, "TEKTON_RUNNER_EVENTLISTENER_NAME": el.name,
                "TEKTON_RUNNER_BUILD_NAMESPACE": build_namespace}

    def down(self) -> None:
        """Stop the EventListener; the installed objects stay (a later `up` applies them again)."""
        self.plane.procs.stop(self.process)
        shutil.rmtree(self.state, ignore_errors=True)
