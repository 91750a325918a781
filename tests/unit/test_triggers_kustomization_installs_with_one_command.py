"""`kubectl apply -k triggers/` installs everything: the kustomization builds, every object it yields
passes the schemas, and the inputs in settings.env (Harbor host, Tekton's namespace, build Task) and in
common/settings.env (the runner's address, the build namespace) land in the objects that use them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_triggers_support import REPO, TRIGGERS_DIR, all_schema_errors

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace"}


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    if shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(directory)]
    elif shutil.which("go"):
        command = ["go", "run", "sigs.k8s.io/kustomize/kustomize/v5@v5.5.0", "build", str(directory)]
    else:
        pytest.fail("kubectl (or go, to run kustomize) is needed to build triggers/")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def copy_install(tmp_path: Path) -> Path:
    """triggers/, deploy/ and common/ copied side by side under `tmp_path`, as both kustomizations need."""
    for name in ("triggers", "deploy", "common"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def settings(directory: Path) -> dict[str, str]:
    pairs = {}
    for line in (directory / "settings.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def by_kind_and_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}


def test_settings_files_name_every_input() -> None:
    assert set(settings(TRIGGERS_DIR)) == {
        "harbor_host",
        "tekton_namespace",
        "build_task",
        "cache_repo",
        "build_pod_security",
    }
    assert set(settings(REPO / "common")) == {"runner_address", "runner_port", "build_namespace"}


def test_kustomization_builds_objects_that_pass_their_schemas() -> None:
    objects = kustomize_build(TRIGGERS_DIR)
    kinds = {obj["kind"] for obj in objects}
    assert {"Task", "TriggerTemplate", "TriggerBinding", "Trigger", "EventListener", "ConfigMap"} <= kinds
    assert {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} <= kinds
    for obj in objects:
        assert all_schema_errors(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_settings_reach_the_objects_that_use_them(tmp_path: Path) -> None:
    copy = copy_install(tmp_path) / "triggers"
    (copy / "settings.env").write_text(
        "harbor_host=harbor.example.test:8443\n"
        "tekton_namespace=tekton-system\n"
        "build_task=tekton-runner-build-buildah\n"
        "cache_repo=harbor.example.test:8443/tekton-runner/cache\n"
        "build_pod_security=baseline\n"
    )
    (tmp_path / "common" / "settings.env").write_text(
        "runner_address=runner.ci.svc.cluster.local:18080\nrunner_port=8090\nbuild_namespace=ci-builds\n")
    objects = kustomize_build(copy)
    named = by_kind_and_name(objects)

    events = named[("ConfigMap", "config-events")]
    assert events["metadata"]["namespace"] == "tekton-system"
    assert events["data"] == {"formats": "tektonv1", "sink": "http://runner.ci.svc.cluster.local:18080/cloudevents"}

    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"]
        elif obj is not events:
            assert obj["metadata"]["namespace"] == "ci-builds", f"{obj['kind']}/{obj['metadata']['name']}"
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        subjects = named[(kind, "tekton-runner-eventlistener")]["subjects"]
        assert [subject["namespace"] for subject in subjects] == ["ci-builds"]

    for task in ("tekton-runner-build", "tekton-runner-build-buildah"):
        params = {param["name"]: param for param in named[("Task", task)]["spec"]["params"]}
        assert params["REGISTRY_HOST"]["default"] == "harbor.example.test:8443"
        assert params["CACHE_REPO"]["default"] == "harbor.example.test:8443/tekton-runner/cache"

    for template in ("tekton-runner-build", "tekton-runner-webhook-build"):
        (resource,) = named[("TriggerTemplate", template)]["spec"]["resourcetemplates"]
        assert resource["spec"]["taskRef"]["name"] == "tekton-runner-build-buildah"


def test_kustomization_lists_every_manifest_in_triggers() -> None:
    assert yaml.safe_load((TRIGGERS_DIR / "kustomization.yaml").read_text())["resources"] == ["base"]
    base = TRIGGERS_DIR / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    manifests = {path.name for path in base.glob("*.yaml") if path.name != "kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert not [path for path in TRIGGERS_DIR.glob("*.yaml") if path.name != "kustomization.yaml"]


def test_an_overlay_with_its_own_settings_reuses_base_and_settings_component(tmp_path: Path) -> None:
    shutil.copytree(TRIGGERS_DIR, tmp_path / "triggers")
    overlay = tmp_path / "local"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../triggers/base"],
                "configMapGenerator": [
                    {
                        "name": "tekton-runner-triggers-settings",
                        "namespace": "tekton-pipelines",
                        "literals": [
                            "runner_url=http://host.example.test:8099",
                            "harbor_host=harbor.local:30443",
                            "build_namespace=builds",
                            "tekton_namespace=tekton-pipelines",
                            "build_task=tekton-runner-build",
                            "cache_repo=",
                        ],
                        "options": {"disableNameSuffixHash": True},
                    }
                ],
                "components": ["../triggers/components/settings"],
            }
        )
    )
    named = by_kind_and_name(kustomize_build(overlay))
    assert named[("ConfigMap", "config-events")]["data"]["sink"] == "http://host.example.test:8099/cloudevents"
    assert named[("EventListener", "tekton-runner")]["metadata"]["namespace"] == "builds"
    task = named[("Task", "tekton-runner-build")]
    assert {p["name"]: p.get("default") for p in task["spec"]["params"]}["REGISTRY_HOST"] == "harbor.local:30443"


def test_public_webhook_listener_component_adds_a_listener_for_webhook_triggers_only(tmp_path: Path) -> None:
    common = copy_install(tmp_path) / "common" / "settings.env"
    common.write_text(common.read_text().replace("build_namespace=tekton-builds", "build_namespace=ci-builds"))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../triggers"],
                "components": ["../triggers/components/public-webhook-listener"],
            }
        )
    )
    named = by_kind_and_name(kustomize_build(overlay))
    public = named[("EventListener", "tekton-runner-webhooks")]
    assert public["metadata"]["namespace"] == "ci-builds"
    assert all_schema_errors(public) == []
    selector = public["spec"]["labelSelector"]["matchLabels"]
    build_request = named[("Trigger", "tekton-runner-build-request")]
    assert not selector.items() <= build_request["metadata"]["labels"].items()


def test_build_namespace_component_creates_the_namespace_with_the_pod_security_level(tmp_path: Path) -> None:
    copy = copy_install(tmp_path) / "triggers"
    text = (copy / "settings.env").read_text()
    text = text.replace("build_pod_security=baseline", "build_pod_security=privileged")
    (copy / "settings.env").write_text(text)
    objects = kustomize_build(copy)
    namespaces = [obj for obj in objects if obj["kind"] == "Namespace"]
    assert [ns["metadata"]["name"] for ns in namespaces] == ["tekton-builds"]
    assert namespaces[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert all_schema_errors(namespaces[0]) == []
    assert by_kind_and_name(objects)[("EventListener", "tekton-runner")]["metadata"]["namespace"] == "tekton-builds"
