"""deploy/ (the runner) and triggers/ (Tekton's side) name the same runner: the Service Tekton's events
go to, the runner's public URL, the build namespace its Role is in and the EventListener it calls.
Every object deploy/ yields also passes the Kubernetes schema."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tekton_runner.models.environment import settings_from_env
from tests.unit.test_triggers_kustomization_installs_with_one_command import kustomize_build, settings
from tests.unit.test_triggers_support import REPO, TRIGGERS_DIR, all_schema_errors

DEPLOY_DIR = REPO / "deploy"


@pytest.fixture(scope="module")
def deploy() -> list[dict[str, Any]]:
    return kustomize_build(DEPLOY_DIR)


@pytest.fixture(scope="module")
def triggers() -> list[dict[str, Any]]:
    return kustomize_build(TRIGGERS_DIR)


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [obj for obj in objects if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [obj["metadata"]["name"] for obj in found])
    return found[0]


def runner_env(deploy: list[dict[str, Any]]) -> dict[str, str]:
    config = one(deploy, "ConfigMap")
    assert config["metadata"]["name"].startswith("tekton-runner-settings")
    return dict(config["data"])


def test_tektons_events_reach_the_runners_service(deploy: list[dict[str, Any]],
                                                   triggers: list[dict[str, Any]]) -> None:
    sink = urlsplit(one(triggers, "ConfigMap", "config-events")["data"]["sink"])
    service = one(deploy, "Service", "tekton-runner")
    host = sink.hostname or ""
    assert host.split(".")[:3] == [service["metadata"]["name"], service["metadata"]["namespace"], "svc"], host
    port = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert sink.port == port["port"] and sink.path == "/cloudevents"
    container = one(deploy, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "http", "containerPort": 8088} in container["ports"] and port["targetPort"] == "http"


def test_the_runners_public_url_is_the_url_triggers_sends_to(deploy: list[dict[str, Any]]) -> None:
    assert runner_env(deploy)["TEKTON_RUNNER_PUBLIC_URL"] == settings(TRIGGERS_DIR)["runner_url"]


def test_builds_live_in_the_namespace_both_name(deploy: list[dict[str, Any]],
                                                triggers: list[dict[str, Any]]) -> None:
    build_namespace = settings(TRIGGERS_DIR)["build_namespace"]
    env = runner_env(deploy)
    assert env["TEKTON_RUNNER_BUILD_NAMESPACE"] == build_namespace
    # The build Role, and the Lease Role in the runner's own namespace (TEKTON_RUNNER_LEASE_NAMESPACE).
    assert {obj["metadata"]["namespace"] for obj in deploy if obj["kind"] in ("Role", "RoleBinding")} == {
        build_namespace, env["TEKTON_RUNNER_LEASE_NAMESPACE"]}
    assert env["TEKTON_RUNNER_LEASE_NAMESPACE"] == one(deploy, "Deployment")["metadata"]["namespace"]
    listener = one(triggers, "EventListener")
    assert listener["metadata"]["namespace"] == build_namespace
    url = urlsplit(env["TEKTON_RUNNER_EVENTLISTENER_URL"])
    assert (url.hostname or "").split(".")[:2] == [f"el-{listener['metadata']['name']}", build_namespace]


def test_every_deploy_object_passes_the_kubernetes_schema(deploy: list[dict[str, Any]]) -> None:
    kinds = {obj["kind"] for obj in deploy}
    assert kinds == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                     "ConfigMap", "Service", "PersistentVolumeClaim", "Deployment"}
    for obj in deploy:
        assert all_schema_errors(obj) == [], (obj["kind"], obj["metadata"]["name"])


def test_the_runner_pod_runs_unprivileged_with_probes(deploy: list[dict[str, Any]]) -> None:
    pod = one(deploy, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "limits" in container["resources"] and "requests" in container["resources"]
    token = next(env for env in container["env"] if env["name"] == "TEKTON_RUNNER_TOKEN")
    assert token["valueFrom"]["secretKeyRef"]["name"] == "tekton-runner"
    state = next(v for v in pod["volumes"] if v["name"] == "state")
    assert state["persistentVolumeClaim"]["claimName"] == one(deploy, "PersistentVolumeClaim")["metadata"]["name"]
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {runner_env(deploy)["TEKTON_RUNNER_DATA_DIR"]}


def test_the_settings_deploy_gives_are_valid_runner_settings(deploy: list[dict[str, Any]]) -> None:
    settings_ = settings_from_env(runner_env(deploy))  # the required site settings are present and typed
    assert settings_.forward is False and settings_.log_format == "json"
