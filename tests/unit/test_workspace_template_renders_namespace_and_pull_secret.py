"""manifests/workspace.yaml.j2: the namespace, Harbor's pull Secret and the default ServiceAccount using it."""

from __future__ import annotations

import base64
import json
from typing import Any

import kubernetes_validate
import pytest

from tekton_runner.manifests import ManifestError, Renderer
from tekton_runner.workspaces import registry_auth

KUBERNETES_VERSION = "1.35.0"
LABELS = {"tekton-runner.io/workspace": "demo", "app.kubernetes.io/managed-by": "tekton-runner"}
CONFIG = registry_auth.docker_config("lenovo:8443", "robot$ws", "s3cret")


def render(**overrides: Any) -> list[dict[str, Any]]:
    values = {
        "namespace": "ws-demo", "workspace_labels": LABELS, "pull_secret": "harbor-pull",
        "dockerconfigjson": registry_auth.encoded(CONFIG), **overrides,
    }
    return Renderer().render("workspace.yaml.j2", values)


def test_renders_the_expected_objects() -> None:
    assert render() == [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ws-demo", "labels": LABELS}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
         "metadata": {"name": "harbor-pull", "namespace": "ws-demo", "labels": LABELS},
         "data": {".dockerconfigjson": registry_auth.encoded(CONFIG)}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "ws-demo"},
         "imagePullSecrets": [{"name": "harbor-pull"}]},
    ]


def test_without_credentials_only_the_namespace_is_rendered() -> None:
    assert [obj["kind"] for obj in render(pull_secret=None, dockerconfigjson=None)] == ["Namespace"]


def test_objects_pass_the_kubernetes_schema() -> None:
    for obj in render():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_secret_holds_what_kubelet_reads() -> None:
    secret = render()[1]
    document = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    entry = document["auths"]["lenovo:8443"]
    assert (entry["username"], entry["password"]) == ("robot$ws", "s3cret")
    assert base64.b64decode(entry["auth"]).decode() == "robot$ws:s3cret"


def test_hostile_values_stay_values() -> None:
    hostile = 'x"\nkind: Pod\n---\napiVersion: v1'
    objects = render(workspace_labels={"tekton-runner.io/workspace": hostile}, dockerconfigjson=hostile)
    assert [obj["kind"] for obj in objects] == ["Namespace", "Secret", "ServiceAccount"]
    assert objects[0]["metadata"]["labels"]["tekton-runner.io/workspace"] == hostile
    assert objects[1]["data"][".dockerconfigjson"] == hostile


def test_an_invalid_secret_name_is_caught_before_sending() -> None:
    with pytest.raises(ManifestError):
        render(pull_secret="Harbor Pull")
