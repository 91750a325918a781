"""The runner's build-request CloudEvent, pushed through the build-request Trigger the way the
EventListener does it (bindings, template defaults, byte substitution into the template's JSON), yields
the TaskRun of docs/contracts.md, and no value in the event can change that TaskRun's structure."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.unit.test_triggers_support import (
    BindingError,
    all_schema_errors,
    find_object,
    render_resource_templates,
    resolve_binding_params,
    taskrun_against_task_errors,
    tekton_validation_errors,
    triggers_dir,
    triggers_objects,
    triggers_render,
)

RUN_ID = "r-0123456789abcdef"
HEADERS = {
    "Ce-Specversion": "1.0",
    "Ce-Type": "io.tekton-runner.build.requested.v1",
    "Ce-Source": "tekton-runner",
    "Ce-Id": RUN_ID,
    "Content-Type": "application/json",
}
GIT_BODY = {
    "run_id": RUN_ID,
    "workspace": "demo",
    "app": "web",
    "source_type": "git",
    "git_url": "https://github.com/acme/web.git",
    "git_revision": "3f2c1a9e",
    "context_dir": "services/web",
    "dockerfile": "build/Dockerfile",
    "archive_url": "",
    "image": "harbor.local/demo/web:r-0123456789abcdef",
    "spec_json": json.dumps(
        {"workspace": "demo", "app": "web", "dependency": {"type": "redis"}, "env": {"GREETING": "hi"}},
        separators=(",", ":"),
    ),
}
ZIP_BODY = {
    **GIT_BODY,
    "source_type": "zip",
    "git_url": "",
    "git_revision": "",
    "context_dir": ".",
    "dockerfile": "Dockerfile",
    "archive_url": "http://10.0.0.1:8080/archives/r-0123456789abcdef?token=abc&once=1",
}


def trigger_parts() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The binding params and the template of the build-request Trigger, resolved by reference."""
    objects = triggers_objects()
    trigger = find_object(objects, "Trigger", "tekton-runner-build-request")
    params: list[dict[str, str]] = []
    for binding in trigger["spec"]["bindings"]:
        params += find_object(objects, "TriggerBinding", binding["ref"])["spec"]["params"]
    template = find_object(objects, "TriggerTemplate", trigger["spec"]["template"]["ref"])
    return params, template


def render_taskrun(body: dict[str, Any], order: str = "declared") -> dict[str, Any]:
    """The resource the build-request TriggerTemplate yields for this event (test_triggers_support's
    re-implementation of Triggers' pkg/template), in one of several param orders."""
    binding_params, template = trigger_parts()
    values = resolve_binding_params(binding_params, template["spec"]["params"], body, HEADERS)
    names = [spec["name"] for spec in template["spec"]["params"]]
    orders = {"declared": names, "reversed": names[::-1], "sorted": sorted(names)}
    (raw,) = render_resource_templates(template, values, order=orders[order])
    rendered: dict[str, Any] = json.loads(raw)
    return rendered


def render_taskrun_with_triggers(body: dict[str, Any]) -> str:
    """The same, rendered by Triggers' own code (ResolveTrigger, ResolveParams, ResolveResources)."""
    objects = triggers_objects()
    trigger = find_object(objects, "Trigger", "tekton-runner-build-request")
    bindings = [find_object(objects, "TriggerBinding", ref["ref"]) for ref in trigger["spec"]["bindings"]]
    template = find_object(objects, "TriggerTemplate", trigger["spec"]["template"]["ref"])
    (raw,) = triggers_render(trigger, bindings, [template], body, HEADERS)
    return raw


def create_taskrun(body: dict[str, Any], order: str = "declared") -> dict[str, Any]:
    """What the EventListener would create for this event (before the API server sees it)."""
    taskrun = render_taskrun(body, order)
    # Triggers' resources.Create: namespace defaults to the EventListener's, and its labels are added.
    taskrun["metadata"].setdefault("namespace", "tekton-pipelines")
    taskrun["metadata"].setdefault("labels", {}).update(
        {
            "triggers.tekton.dev/eventlistener": "tekton-runner",
            "triggers.tekton.dev/trigger": "tekton-runner-build-request",
            "triggers.tekton.dev/triggers-eventid": "00000000-0000-4000-8000-000000000000",
        }
    )
    return taskrun


def params_of(taskrun: dict[str, Any]) -> dict[str, Any]:
    return {param["name"]: param["value"] for param in taskrun["spec"]["params"]}


def build_task() -> dict[str, Any]:
    return find_object(triggers_objects(), "Task", "tekton-runner-build")


def test_git_build_request_yields_the_contract_taskrun() -> None:
    taskrun = create_taskrun(GIT_BODY)
    assert taskrun["apiVersion"] == "tekton.dev/v1"
    assert taskrun["kind"] == "TaskRun"
    assert taskrun["metadata"]["name"] == f"build-{RUN_ID}"
    labels = taskrun["metadata"]["labels"]
    assert labels["tekton-runner.io/run-id"] == RUN_ID
    assert labels["tekton-runner.io/workspace"] == "demo"
    assert labels["tekton-runner.io/app"] == "web"
    assert labels["app.kubernetes.io/managed-by"] == "tekton-runner"
    assert taskrun["spec"]["taskRef"] == {"kind": "Task", "name": "tekton-runner-build"}
    assert params_of(taskrun) == {
        "SOURCE_TYPE": "git",
        "GIT_URL": "https://github.com/acme/web.git",
        "GIT_REVISION": "3f2c1a9e",
        "ARCHIVE_URL": "",
        "CONTEXT": "services/web",
        "DOCKERFILE": "build/Dockerfile",
        "IMAGE": "harbor.local/demo/web:r-0123456789abcdef",
    }
    assert json.loads(taskrun["metadata"]["annotations"]["tekton-runner.io/spec"]) == json.loads(GIT_BODY["spec_json"])


def test_taskrun_binds_source_registry_credentials_and_optional_ca() -> None:
    workspaces = {item["name"]: item for item in create_taskrun(GIT_BODY)["spec"]["workspaces"]}
    assert workspaces["source"] == {"name": "source", "emptyDir": {}}
    assert workspaces["dockerconfig"]["secret"] == {
        "secretName": "tekton-runner-registry",
        "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
    }
    assert workspaces["registry-ca"]["configMap"] == {"name": "tekton-runner-registry-ca", "optional": True}


@pytest.mark.parametrize("body", [GIT_BODY, ZIP_BODY], ids=["git", "zip"])
def test_rendered_taskrun_passes_tekton_schemas_and_matches_the_task(body: dict[str, Any]) -> None:
    taskrun = create_taskrun(body)
    assert all_schema_errors(taskrun) == []
    assert taskrun_against_task_errors(taskrun, build_task()) == []


@pytest.mark.timeout(1800)  # the first use builds Tekton's validator
def test_tektons_own_validation_accepts_the_rendered_taskruns() -> None:
    taskruns = [create_taskrun(GIT_BODY), create_taskrun(ZIP_BODY)]
    taskruns.append(
        create_taskrun({**GIT_BODY, **{key: HOSTILE[0] for key in ("git_url", "context_dir", "spec_json")}})
    )
    assert tekton_validation_errors(taskruns) == []


def test_zip_build_request_passes_the_one_time_url_through_unchanged() -> None:
    params = params_of(create_taskrun(ZIP_BODY))
    assert params["SOURCE_TYPE"] == "zip"
    assert params["ARCHIVE_URL"] == ZIP_BODY["archive_url"]
    assert params["GIT_URL"] == ""


def test_fields_left_out_of_the_event_take_the_template_defaults() -> None:
    body = {key: value for key, value in ZIP_BODY.items() if key not in {"context_dir", "dockerfile", "git_url"}}
    params = params_of(create_taskrun(body))
    assert params["CONTEXT"] == "."
    assert params["DOCKERFILE"] == "Dockerfile"
    assert params["GIT_URL"] == ""


def test_event_without_a_run_id_creates_nothing() -> None:
    push = {"ref": "refs/heads/main", "after": "0" * 40, "repository": {"clone_url": "https://x/y.git"}}
    with pytest.raises(BindingError):
        create_taskrun(push)


HOSTILE = [
    'quote " and backslash \\ and "}, {"name": "IMAGE", "value": "evil"}',
    "line one\nline two\r\n\ttabbed",
    "{{ jinja }} {% raw %} ${SHELL} `id`",
    "</script> & <b> \u2028 \u2029 \x00 \x1f",
    ']}],"kind":"Pod","x":[{',
    "ünïcödé ✓ 𝄞",
]
HOSTILE_WITH_EXPRESSIONS = ["$(tt.params.image)", "$(uid) $(body.run_id)", "$(params.IMAGE)"]


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize("order", ["declared", "reversed", "sorted"])
@pytest.mark.parametrize("hostile", HOSTILE + HOSTILE_WITH_EXPRESSIONS)
def test_hostile_event_values_cannot_change_the_taskrun_structure(hostile: str, order: str) -> None:
    body = {key: hostile for key in GIT_BODY}
    taskrun = create_taskrun(body, order)
    assert shape(taskrun) == shape(create_taskrun(GIT_BODY, order))
    assert set(params_of(taskrun)) == set(params_of(create_taskrun(GIT_BODY)))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_without_expressions_arrive_byte_for_byte(hostile: str) -> None:
    taskrun = create_taskrun({**GIT_BODY, "git_url": hostile, "context_dir": hostile, "spec_json": hostile})
    assert params_of(taskrun)["GIT_URL"] == hostile
    assert params_of(taskrun)["CONTEXT"] == hostile
    assert taskrun["metadata"]["annotations"]["tekton-runner.io/spec"] == hostile


def test_triggers_escapes_dollar_parenthesis_in_values_so_tekton_does_not_expand_them() -> None:
    taskrun = create_taskrun({**GIT_BODY, "git_revision": "$(params.IMAGE)"})
    assert params_of(taskrun)["GIT_REVISION"] == "$$(params.IMAGE)"


def test_an_object_valued_field_would_break_the_template_which_is_why_the_contract_sends_strings() -> None:
    # $(body.x) of an object is its JSON text with bare quotes; pasted into a JSON string it breaks the
    # resource (Triggers logs the failure and creates nothing). spec_json therefore travels as a string.
    with pytest.raises(json.JSONDecodeError):
        create_taskrun({**GIT_BODY, "spec_json": {"app": "web"}})


def test_the_rendering_above_follows_the_pinned_triggers_source() -> None:
    # The emulation in test_triggers_support mirrors pkg/template of the pinned Triggers module; if
    # Triggers changes how it substitutes, these lines change and this test points at the emulation.
    template_dir = triggers_dir() / "pkg" / "template"
    resource = (template_dir / "resource.go").read_text()
    jsonpath = (template_dir / "jsonpath.go").read_text()
    assert 'fmt.Sprintf("$(tt.params.%s)", param.Name)' in resource
    assert "bytes.ReplaceAll(rt, []byte(paramVariable), []byte(paramValue))" in resource
    assert 'strings.ReplaceAll(value, "$(", "$$(")' in resource
    assert "bytes.ReplaceAll(rt, uidMatch, []byte(uid))" in resource
    assert "return b[1 : len(b)-1], nil" in jsonpath


def test_template_params_are_declared_and_used() -> None:
    for template in (obj for obj in triggers_objects() if obj["kind"] == "TriggerTemplate"):
        declared = {param["name"] for param in template["spec"]["params"]}
        text = json.dumps(template["spec"]["resourcetemplates"])
        used = set(re.findall(r"\$\(tt\.params\.([^)]+)\)", text))
        assert used == declared, template["metadata"]["name"]


needs_triggers_code = pytest.mark.timeout(1800)  # the first use builds the tool around Triggers' code


@needs_triggers_code
@pytest.mark.parametrize(
    "body",
    [
        GIT_BODY,
        ZIP_BODY,
        {key: value for key, value in ZIP_BODY.items() if key != "context_dir"},
        *[{key: hostile for key in GIT_BODY} for hostile in HOSTILE],
    ],
    ids=["git", "zip", "default-context", *[f"hostile-{index}" for index in range(len(HOSTILE))]],
)
def test_triggers_own_code_renders_exactly_what_the_emulation_renders(body: dict[str, Any]) -> None:
    assert json.loads(render_taskrun_with_triggers(body)) == render_taskrun(body)


@needs_triggers_code
@pytest.mark.parametrize("hostile", HOSTILE + HOSTILE_WITH_EXPRESSIONS)
def test_hostile_values_cannot_change_the_taskrun_triggers_own_code_renders(hostile: str) -> None:
    rendered = json.loads(render_taskrun_with_triggers({key: hostile for key in GIT_BODY}))
    assert shape(rendered) == shape(render_taskrun(GIT_BODY))


@needs_triggers_code
def test_triggers_own_code_creates_nothing_for_an_event_without_a_run_id() -> None:
    with pytest.raises(BindingError, match="run_id"):
        render_taskrun_with_triggers({"ref": "refs/heads/main", "after": "0" * 40})
