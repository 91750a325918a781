"""Every object under triggers/ is one that Kubernetes, Tekton Pipelines v1.15.0 and Tekton Triggers
v0.37.0 accept: Kubernetes OpenAPI for core kinds, the CRD schemas and the Go types of Tekton for the
rest, read from the Go module cache at test time. Also the Task's own consistency rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.test_triggers_support import (
    TRIGGERS_DIR,
    all_schema_errors,
    crd_schema_errors,
    find_object,
    go_type_errors,
    kubernetes_schema_errors,
    load_yaml_documents,
    task_reference_errors,
    tekton_validation_errors,
    triggers_objects,
)

YAML_FILES = sorted(
    path.relative_to(TRIGGERS_DIR).as_posix()
    for path in TRIGGERS_DIR.rglob("*.yaml")
    if path.name != "kustomization.yaml"
)
TASKS = ("tekton-runner-build", "tekton-runner-build-buildah")


def object_id(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@pytest.mark.parametrize("relative", YAML_FILES)
def test_every_object_in_triggers_passes_its_schemas(relative: str) -> None:
    objects = load_yaml_documents(TRIGGERS_DIR / relative)
    assert objects, f"{relative} holds no object"
    for obj in objects:
        assert all_schema_errors(obj) == [], object_id(obj)


def test_tekton_objects_use_api_versions_that_need_no_conversion_webhook() -> None:
    versions = {(obj["apiVersion"], obj["kind"]) for obj in triggers_objects()}
    assert ("tekton.dev/v1", "Task") in versions
    assert not [pair for pair in versions if pair[0].startswith("tekton.dev/") and pair[0] != "tekton.dev/v1"]
    for template in (obj for obj in triggers_objects() if obj["kind"] == "TriggerTemplate"):
        for resource in template["spec"]["resourcetemplates"]:
            assert resource["apiVersion"] == "tekton.dev/v1"


@pytest.mark.parametrize(
    ("kind", "name", "mutate", "expected"),
    [
        ("Task", "tekton-runner-build", lambda o: o["spec"]["steps"][0].update(scirpt="x"), "scirpt"),
        (
            "Task",
            "tekton-runner-build",
            lambda o: o["spec"]["steps"][1]["securityContext"].update(runAsUsr=0),
            "runAsUsr",
        ),
        ("Task", "tekton-runner-build", lambda o: o["spec"]["params"][0].update(defualt=""), "defualt"),
        ("Trigger", "tekton-runner-build-request", lambda o: o["spec"].update(bindngs=[]), "bindngs"),
        (
            "TriggerTemplate",
            "tekton-runner-build",
            lambda o: o["spec"]["params"][0].update(defaults=""),
            "defaults",
        ),
        ("EventListener", "tekton-runner", lambda o: o["spec"].update(serviceAccount="x"), "serviceAccount"),
        ("TriggerBinding", "tekton-runner-github-push", lambda o: o["spec"]["params"][0].update(val="x"), "val"),
    ],
)
def test_a_field_tekton_does_not_know_fails_the_check(kind: str, name: str, mutate: Any, expected: str) -> None:
    obj = copy.deepcopy(find_object(triggers_objects(), kind, name))
    mutate(obj)
    problems = go_type_errors(obj) + crd_schema_errors(obj)
    assert any(expected in problem for problem in problems), problems


def test_a_field_kubernetes_does_not_know_fails_the_check() -> None:
    role = copy.deepcopy(find_object(triggers_objects(), "Role", "tekton-runner-eventlistener"))
    role["rules"][0]["verb"] = ["get"]
    assert kubernetes_schema_errors(role)


@pytest.mark.parametrize("name", TASKS)
def test_build_task_references_only_what_it_declares(name: str) -> None:
    assert task_reference_errors(find_object(triggers_objects(), "Task", name)) == []


@pytest.mark.parametrize("name", TASKS)
def test_every_build_step_has_a_script_so_tekton_never_looks_up_an_entrypoint(name: str) -> None:
    task = find_object(triggers_objects(), "Task", name)
    for step in task["spec"]["steps"]:
        assert step.get("script") or step.get("command"), step["name"]
        assert step["script"].startswith("#!"), step["name"]


@pytest.mark.parametrize("name", TASKS)
def test_build_task_declares_the_contract_params_and_results(name: str) -> None:
    task = find_object(triggers_objects(), "Task", name)
    params = {param["name"]: param for param in task["spec"]["params"]}
    contract = ["SOURCE_TYPE", "GIT_URL", "GIT_REVISION", "CONTEXT", "DOCKERFILE", "ARCHIVE_URL", "IMAGE"]
    assert set(contract) <= set(params)
    assert set(params) - {"SOURCE_TYPE", "IMAGE"} == {p for p in params if "default" in params[p]}
    assert params["EXTRA_ARGS"]["type"] == "array"
    assert "BUILDER_IMAGE" in params
    results = {result["name"] for result in task["spec"]["results"]}
    assert {"IMAGE_DIGEST", "IMAGE_URL"} <= results
    workspaces = {workspace["name"]: workspace for workspace in task["spec"]["workspaces"]}
    assert workspaces["registry-ca"].get("optional") is True
    assert not workspaces["dockerconfig"].get("optional")


def test_kaniko_default_is_the_maintained_fork_with_a_shell() -> None:
    task = find_object(triggers_objects(), "Task", "tekton-runner-build")
    builder = next(p for p in task["spec"]["params"] if p["name"] == "BUILDER_IMAGE")["default"]
    assert builder.startswith("ghcr.io/osscontainertools/kaniko:")
    assert builder.endswith("-debug"), "the build script needs the busybox shell of the -debug image"
    build = task["spec"]["steps"][1]
    assert build["script"].startswith("#!/busybox/sh\n")


def test_kaniko_and_buildah_tasks_share_interface_and_fetch_step() -> None:
    kaniko = find_object(triggers_objects(), "Task", "tekton-runner-build")
    buildah = find_object(triggers_objects(), "Task", "tekton-runner-build-buildah")

    def names(task: dict[str, Any], key: str) -> list[str]:
        return [item["name"] for item in task["spec"][key]]

    for key in ("params", "results", "workspaces", "steps"):
        assert names(kaniko, key) == names(buildah, key), key
    assert kaniko["spec"]["steps"][0] == buildah["spec"]["steps"][0]


@pytest.mark.parametrize("name", TASKS)
def test_registry_ca_comes_from_the_optional_workspace_not_only_skip_tls(name: str) -> None:
    task = find_object(triggers_objects(), "Task", name)
    build = task["spec"]["steps"][1]
    assert "skip-tls" not in build["script"]
    env = {item["name"]: item["value"] for item in build["env"]}
    assert env["REGISTRY_CA_BOUND"] == "$(workspaces.registry-ca.bound)"
    assert env["REGISTRY_CA_DIR"] == "$(workspaces.registry-ca.path)"
    flag = "--registry-certificate=" if name == "tekton-runner-build" else "--cert-dir"
    assert flag in build["script"]


def test_tekton_sends_taskrun_events_to_the_runner_cloudevents_handler() -> None:
    config = find_object(triggers_objects(), "ConfigMap", "config-events")
    assert config["data"]["formats"] == "tektonv1"
    assert config["data"]["sink"].endswith("/cloudevents")


def test_event_listener_selects_the_build_request_trigger_and_may_create_taskruns() -> None:
    objects = triggers_objects()
    listener = find_object(objects, "EventListener", "tekton-runner")
    selector = listener["spec"]["labelSelector"]["matchLabels"]
    trigger = find_object(objects, "Trigger", "tekton-runner-build-request")
    assert selector.items() <= trigger["metadata"]["labels"].items()
    account = listener["spec"]["serviceAccountName"]
    find_object(objects, "ServiceAccount", account)
    binding = find_object(objects, "RoleBinding", "tekton-runner-eventlistener")
    assert {"kind": "ServiceAccount", "name": account, "namespace": listener["metadata"]["namespace"]} in binding[
        "subjects"
    ]
    role = find_object(objects, binding["roleRef"]["kind"], binding["roleRef"]["name"])
    allowed = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert ("tekton.dev", "taskruns", "create") in allowed
    for resource in ("eventlisteners", "triggers", "triggerbindings", "triggertemplates"):
        assert ("triggers.tekton.dev", resource, "list") in allowed
    cluster_role = find_object(objects, "ClusterRole", "tekton-runner-eventlistener")
    assert not [rule for rule in cluster_role["rules"] if "secrets" in rule["resources"]]


# Building Tekton's validator can take minutes on a cold Go build cache.
slow_first_build = pytest.mark.timeout(1800)


def tekton_kinds() -> list[dict[str, Any]]:
    return [obj for obj in triggers_objects() if obj["apiVersion"].startswith(("tekton.dev/", "triggers.tekton.dev/"))]


@slow_first_build
def test_tektons_own_decoding_and_validation_accept_every_tekton_object() -> None:
    assert tekton_validation_errors(tekton_kinds()) == []


@slow_first_build
def test_tektons_own_validation_refuses_what_tekton_would_refuse() -> None:
    task = copy.deepcopy(find_object(triggers_objects(), "Task", "tekton-runner-build"))
    task["spec"]["steps"][0]["env"][0]["value"] = "$(params.NOT_DECLARED)"
    trigger = copy.deepcopy(find_object(triggers_objects(), "Trigger", "tekton-runner-build-request"))
    trigger["spec"]["bindngs"] = trigger["spec"].pop("bindings")
    listener = copy.deepcopy(find_object(triggers_objects(), "EventListener", "tekton-runner"))
    del listener["spec"]["labelSelector"]
    task_error, trigger_error, listener_error = tekton_validation_errors([task, trigger, listener])
    assert "non-existent variable" in task_error
    assert 'unknown field "bindngs"' in trigger_error
    assert "expected exactly one, got neither: spec.labelSelector" in listener_error
