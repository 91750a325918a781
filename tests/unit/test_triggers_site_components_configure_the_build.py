"""What a site configures for its builds lives in triggers/'s kustomize configuration, not in the runner:
components/step-images passes the builder and fetch images of settings.env, components/plain-http-registry
tells Kaniko that harbor_host speaks plain HTTP, and an overlay's patch gives the TaskRuns a podTemplate
for dedicated, tainted build nodes. The TaskRun an event then yields passes Tekton's own validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.unit.test_triggers_build_request_renders_taskrun import GIT_BODY, HEADERS
from tests.unit.test_triggers_kustomization_installs_with_one_command import (
    by_kind_and_name,
    copy_install,
    kustomize_build,
)
from tests.unit.test_triggers_support import (
    all_schema_errors,
    taskrun_against_task_errors,
    tekton_validation_errors,
    triggers_render,
)

POD_TEMPLATE = {
    "nodeSelector": {"node-role.example.com/builds": "true"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "builds", "effect": "NoSchedule"}],
}


def site_overlay(tmp_path: Path) -> list[dict[str, Any]]:
    """An operator's overlay of triggers/: its own settings, both components, a podTemplate patch."""
    triggers = copy_install(tmp_path) / "triggers"
    settings = (triggers / "settings.env").read_text().replace("harbor_host=harbor.local", "harbor_host=10.0.0.5:5000")
    (triggers / "settings.env").write_text(
        settings + "builder_image=10.0.0.5:5000/mirror/kaniko:v1-debug\nfetch_image=10.0.0.5:5000/mirror/git:v2\n")
    overlay = tmp_path / "site"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../triggers"],
        "components": ["../triggers/components/step-images", "../triggers/components/plain-http-registry"],
        "patches": [{"target": {"kind": "TriggerTemplate"}, "patch": yaml.safe_dump([
            {"op": "add", "path": "/spec/resourcetemplates/0/spec/podTemplate", "value": POD_TEMPLATE}])}],
    }))
    return kustomize_build(overlay)


def test_site_settings_reach_every_taskrun_template(tmp_path: Path) -> None:
    named = by_kind_and_name(site_overlay(tmp_path))
    for template in ("tekton-runner-build", "tekton-runner-webhook-build"):
        (resource,) = named[("TriggerTemplate", template)]["spec"]["resourcetemplates"]
        params = {param["name"]: param["value"] for param in resource["spec"]["params"]}
        assert params["BUILDER_IMAGE"] == "10.0.0.5:5000/mirror/kaniko:v1-debug"
        assert params["FETCH_IMAGE"] == "10.0.0.5:5000/mirror/git:v2"
        assert params["EXTRA_ARGS"] == ["--insecure-registry=10.0.0.5:5000"]
        assert resource["spec"]["podTemplate"] == POD_TEMPLATE
        assert all_schema_errors(named[("TriggerTemplate", template)]) == []


def test_the_taskrun_a_build_request_yields_passes_tekton_validation(tmp_path: Path) -> None:
    objects = site_overlay(tmp_path)
    named = by_kind_and_name(objects)
    trigger = named[("Trigger", "tekton-runner-build-request")]
    bindings = [named[("TriggerBinding", ref["ref"])] for ref in trigger["spec"]["bindings"]]
    template = named[("TriggerTemplate", trigger["spec"]["template"]["ref"])]
    (raw,) = triggers_render(trigger, bindings, [template], GIT_BODY, HEADERS)
    taskrun = json.loads(raw)
    taskrun["metadata"]["namespace"] = "tekton-builds"
    assert taskrun["spec"]["podTemplate"] == POD_TEMPLATE
    assert {p["name"]: p["value"] for p in taskrun["spec"]["params"]}["EXTRA_ARGS"] == [
        "--insecure-registry=10.0.0.5:5000"]
    assert taskrun_against_task_errors(taskrun, named[("Task", "tekton-runner-build")]) == []
    assert tekton_validation_errors([taskrun]) == []


def test_without_the_components_taskruns_take_the_task_defaults(tmp_path: Path) -> None:
    named = by_kind_and_name(kustomize_build(copy_install(tmp_path) / "triggers"))
    (resource,) = named[("TriggerTemplate", "tekton-runner-build")]["spec"]["resourcetemplates"]
    names = {param["name"] for param in resource["spec"]["params"]}
    assert not names & {"BUILDER_IMAGE", "FETCH_IMAGE", "EXTRA_ARGS"} and "podTemplate" not in resource["spec"]
