"""deploy/ (the runner) and triggers/ (Tekton's side) name the same runner: the Service Tekton's events
go to, the port the runner listens on, the runner's public URL, the build namespace its Role is in and the
EventListener it calls. They agree by construction: both read common/settings.env, and the checks hold
for the repository's values and for other values written there. Every object deploy/ yields also passes
the Kubernetes schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tekton_runner.models.environment import settings_from_env
from tests.unit.test_triggers_kustomization_installs_with_one_command import (
    copy_install,
    kustomize_build,
    settings,
)
from tests.unit.test_triggers_support import REPO, all_schema_errors

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}

OTHER_COMMON_SETTINGS = "runner_address=runner-api.ci-runner.svc.cluster.local:9090\nrunner_port=9000\n" \
                        "build_namespace=ci-builds\n"


@pytest.fixture(scope="module", params=["repository", "other common settings"])
def install(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "repository":
        return REPO
    copy = copy_install(tmp_path_factory.mktemp("install"))
    (copy / "common" / "settings.env").write_text(OTHER_COMMON_SETTINGS)
    return copy


@pytest.fixture(scope="module")
def deploy(install: Path) -> list[dict[str, Any]]:
    return kustomize_build(install / "deploy")


@pytest.fixture(scope="module")
def triggers(install: Path) -> list[dict[str, Any]]:
    return kustomize_build(install / "triggers")


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [obj for obj in objects if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [obj["metadata"]["name"] for obj in found])
    return found[0]


def runner_env(deploy: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [obj for obj in deploy if obj["kind"] == "ConfigMap"
                 and obj["metadata"]["name"].startswith("tekton-runner-settings-")]
    return dict(config["data"])


def triggers_settings(triggers: list[dict[str, Any]]) -> dict[str, str]:
    return dict(one(triggers, "ConfigMap", "tekton-runner-triggers-settings")["data"])


def test_tektons_events_reach_the_runners_service(deploy: list[dict[str, Any]],
                                                   triggers: list[dict[str, Any]]) -> None:
    sink = urlsplit(one(triggers, "ConfigMap", "config-events")["data"]["sink"])
    service = one(deploy, "Service")
    host = sink.hostname or ""
    assert host.split(".")[:3] == [service["metadata"]["name"], service["metadata"]["namespace"], "svc"], host
    port = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert sink.port == port["port"] and sink.path == "/cloudevents"
    assert {obj["metadata"].get("namespace") for obj in deploy if obj["kind"] not in CLUSTER_SCOPED} - {
        triggers_settings(triggers)["build_namespace"]} == {service["metadata"]["namespace"]}
    bound = {(subject["name"], subject["namespace"]) for obj in deploy if obj["kind"].endswith("RoleBinding")
             for subject in obj["subjects"]}
    assert bound == {(one(deploy, "ServiceAccount")["metadata"]["name"], service["metadata"]["namespace"])}
    deployment = one(deploy, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    listening = int(runner_env(deploy)["TEKTON_RUNNER_PORT"])
    assert {"name": "http", "containerPort": listening} in container["ports"] and port["targetPort"] == "http"
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(listening)


def test_the_runners_public_url_is_the_url_triggers_sends_to(deploy: list[dict[str, Any]],
                                                             triggers: list[dict[str, Any]]) -> None:
    assert runner_env(deploy)["TEKTON_RUNNER_PUBLIC_URL"] == triggers_settings(triggers)["runner_url"]


def test_both_sides_take_the_shared_values_from_common_settings(install: Path, deploy: list[dict[str, Any]],
                                                                 triggers: list[dict[str, Any]]) -> None:
    common = settings(install / "common")
    assert triggers_settings(triggers)["runner_url"] == f"http://{common['runner_address']}"
    assert runner_env(deploy)["TEKTON_RUNNER_PORT"] == common["runner_port"]
    assert triggers_settings(triggers)["build_namespace"] == common["build_namespace"]
    for side in (deploy, triggers):
        assert one(side, "ConfigMap", "tekton-runner-common")["data"] == common


def test_builds_live_in_the_namespace_both_name(deploy: list[dict[str, Any]],
                                                triggers: list[dict[str, Any]]) -> None:
    build_namespace = triggers_settings(triggers)["build_namespace"]
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
