"""The per-app webhook Trigger (manifests/webhook-trigger.yaml.j2) that the runner applies for a
registered app: it passes Tekton's schemas, a signed push to the registered repository and branch yields
a build TaskRun tied to the app, anything else yields nothing, and hostile inputs cannot change it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import pytest
import yaml

from tekton_runner.manifests import ManifestError
from tests.unit.test_triggers_support import (
    MANIFESTS_DIR,
    all_schema_errors,
    find_object,
    render_resource_templates,
    render_webhook_trigger,
    resolve_binding_params,
    taskrun_against_task_errors,
    tekton_validation_errors,
    triggers_objects,
    triggers_render,
)

try:  # cel-python evaluates the CEL filter; without it only the CEL checks are skipped.
    import celpy
    from celpy import celtypes
except ImportError:  # pragma: no cover - the dev extra installs it
    celpy = None

needs_cel = pytest.mark.skipif(celpy is None, reason="cel-python (dev extra) is not installed")

SECRET = b"webhook-secret-value"
APP: dict[str, str] = {
    "app_id": "a-0123456789abcdef",
    "namespace": "tekton-pipelines",
    "eventlistener": "tekton-runner",
    "workspace": "demo",
    "app": "web",
    "git_url": "https://github.com/acme/web.git",
    "branch": "main",
    "context_dir": "services/web",
    "dockerfile": "Dockerfile",
    "image_repository": "harbor.local/demo/web",
    "webhook_secret_name": "tekton-runner-github-webhook",
    "webhook_secret_key": "secret",
}
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def push_body(ref: str = "refs/heads/main", clone_url: str = "https://github.com/acme/web.git") -> dict[str, Any]:
    base = clone_url.removesuffix(".git")
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": COMMIT,
        "deleted": False,
        "repository": {
            "full_name": "acme/web",
            "clone_url": clone_url,
            "html_url": base,
            "ssh_url": "git@github.com:acme/web.git",
        },
        "head_commit": {"id": COMMIT, "message": 'fix "quotes" and $(things)\n'},
    }


def signed_headers(body: bytes, event: str = "push", secret: bytes = SECRET) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {"X-Github-Event": event, "X-Hub-Signature-256": signature, "Content-Type": "application/json"}


def rendered_trigger(**overrides: str) -> dict[str, Any]:
    return yaml.safe_load(render_webhook_trigger(**{**APP, **overrides}))


def interceptor(trigger: dict[str, Any], name: str) -> dict[str, Any]:
    found = [item for item in trigger["spec"]["interceptors"] if item["ref"]["name"] == name]
    assert len(found) == 1, name
    return {param["name"]: param["value"] for param in found[0]["params"]}


def _truncate(text: Any, length: Any) -> Any:
    """Triggers' CEL extension string.truncate(n)."""
    return celtypes.StringType(str(text)[: int(length)])


def cel(expression: str, body: dict[str, Any]) -> Any:
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression), functions={"truncate": _truncate})
    return program.evaluate(celpy.json_to_cel({"body": body}))


def cel_true(expression: str, body: dict[str, Any]) -> bool:
    result = cel(expression, body)
    return isinstance(result, celtypes.BoolType) and bool(result)


def deliver(
    trigger: dict[str, Any], body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """What the EventListener does with one delivery for this Trigger: interceptors in order, then the
    bindings and the template. None when an interceptor stops the Trigger."""
    raw = json.dumps(body).encode()
    headers = headers if headers is not None else signed_headers(raw)
    github = interceptor(trigger, "github")
    if headers.get("X-Github-Event") not in github["eventTypes"]:
        return None
    assert github["secretRef"] == {"secretName": APP["webhook_secret_name"], "secretKey": APP["webhook_secret_key"]}
    expected = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("X-Hub-Signature-256", ""), expected):
        return None
    cel_params = interceptor(trigger, "cel")
    if not cel_true(cel_params["filter"], body):
        return None
    extensions = {overlay["key"]: str(cel(overlay["expression"], body)) for overlay in cel_params["overlays"]}

    objects = triggers_objects()
    binding_params: list[dict[str, str]] = []
    for binding in trigger["spec"]["bindings"]:
        if "ref" in binding:
            binding_params += find_object(objects, "TriggerBinding", binding["ref"])["spec"]["params"]
        else:
            binding_params.append({"name": binding["name"], "value": binding["value"]})
    template = find_object(objects, "TriggerTemplate", trigger["spec"]["template"]["ref"])
    values = resolve_binding_params(binding_params, template["spec"]["params"], body, headers, extensions)
    (resource,) = render_resource_templates(template, values)
    taskrun: dict[str, Any] = json.loads(resource)
    taskrun["metadata"].setdefault("namespace", APP["namespace"])
    return taskrun


def params_of(taskrun: dict[str, Any]) -> dict[str, Any]:
    return {param["name"]: param["value"] for param in taskrun["spec"]["params"]}


def test_rendered_webhook_trigger_passes_tekton_schemas_and_interceptor_param_types() -> None:
    assert all_schema_errors(rendered_trigger()) == []


def test_webhook_trigger_is_picked_up_by_the_event_listener() -> None:
    trigger = rendered_trigger()
    listener = find_object(triggers_objects(), "EventListener", "tekton-runner")
    assert listener["spec"]["labelSelector"]["matchLabels"].items() <= trigger["metadata"]["labels"].items()
    assert trigger["metadata"]["namespace"] == APP["namespace"]
    assert trigger["metadata"]["name"] == "tekton-runner-app-a-0123456789abcdef"
    assert trigger["metadata"]["labels"]["tekton-runner.io/app-id"] == APP["app_id"]


def test_webhook_bindings_give_every_template_param_exactly_once() -> None:
    trigger = rendered_trigger()
    objects = triggers_objects()
    names: list[str] = []
    for binding in trigger["spec"]["bindings"]:
        if "ref" in binding:
            names += [
                param["name"] for param in find_object(objects, "TriggerBinding", binding["ref"])["spec"]["params"]
            ]
        else:
            names.append(binding["name"])
    template = find_object(objects, "TriggerTemplate", trigger["spec"]["template"]["ref"])
    assert sorted(names) == sorted(param["name"] for param in template["spec"]["params"])


@needs_cel
@pytest.mark.timeout(1800)  # the first use builds Tekton's validator
def test_signed_push_to_the_registered_branch_builds_the_app() -> None:
    taskrun = deliver(rendered_trigger(), push_body())
    assert taskrun is not None
    assert taskrun["metadata"]["name"] == f"build-{APP['app_id']}-{COMMIT[:12]}"
    labels = taskrun["metadata"]["labels"]
    assert labels["tekton-runner.io/app-id"] == APP["app_id"]
    assert labels["tekton-runner.io/workspace"] == "demo"
    assert labels["tekton-runner.io/app"] == "web"
    assert labels["tekton-runner.io/git-revision"] == COMMIT
    assert labels["app.kubernetes.io/managed-by"] == "tekton-runner"
    assert taskrun["metadata"]["annotations"]["tekton-runner.io/git-ref"] == "refs/heads/main"
    assert params_of(taskrun) == {
        "SOURCE_TYPE": "git",
        "GIT_URL": APP["git_url"],
        "GIT_REVISION": COMMIT,
        "CONTEXT": "services/web",
        "DOCKERFILE": "Dockerfile",
        "IMAGE": f"harbor.local/demo/web:{COMMIT}",
    }
    assert all_schema_errors(taskrun) == []
    assert taskrun_against_task_errors(taskrun, find_object(triggers_objects(), "Task", "tekton-runner-build")) == []
    assert tekton_validation_errors([rendered_trigger(), taskrun]) == []


@needs_cel
@pytest.mark.parametrize(
    "registered",
    ["https://github.com/acme/web.git", "https://github.com/acme/web", "git@github.com:acme/web.git"],
)
def test_registered_url_matches_in_any_of_githubs_url_forms(registered: str) -> None:
    assert deliver(rendered_trigger(git_url=registered), push_body()) is not None


@needs_cel
@pytest.mark.parametrize(
    "body",
    [
        push_body(ref="refs/heads/feature"),
        push_body(ref="refs/tags/main"),
        push_body(ref="refs/heads/main-2"),
        push_body(clone_url="https://github.com/acme/other.git")
        | {
            "repository": {
                "clone_url": "https://github.com/acme/other.git",
                "html_url": "https://github.com/acme/other",
                "ssh_url": "git@github.com:acme/other.git",
            }
        },
        push_body() | {"deleted": True, "after": "0" * 40},
    ],
    ids=["other-branch", "tag", "branch-prefix", "other-repository", "branch-deleted"],
)
def test_push_outside_the_registered_repository_and_branch_builds_nothing(body: dict[str, Any]) -> None:
    assert deliver(rendered_trigger(), body) is None


@needs_cel
def test_unsigned_wrongly_signed_or_non_push_deliveries_build_nothing() -> None:
    body = push_body()
    raw = json.dumps(body).encode()
    trigger = rendered_trigger()
    assert deliver(trigger, body, {"X-Github-Event": "push"}) is None
    assert deliver(trigger, body, signed_headers(raw, secret=b"not-the-secret")) is None
    assert deliver(trigger, body, signed_headers(raw, event="ping")) is None


HOSTILE = [
    'quote " backslash \\ "]) || true || (["',
    "new\nline: {injected: true}\n- item",
    "{{ raw }} {% if %} ${X} `id`",
    "it's </b> & \u2028 ünï ✓",
    'a") || body.ref != ("',
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_app_inputs_cannot_change_the_trigger_structure(hostile: str) -> None:
    benign = rendered_trigger()
    values = {key: hostile for key in ("workspace", "app", "git_url", "branch", "context_dir", "dockerfile")}
    values |= {"image_repository": hostile, "webhook_secret_name": hostile, "webhook_secret_key": hostile}
    evil = rendered_trigger(**values)

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shape(item) for item in value]
        return type(value).__name__

    assert shape(evil) == shape(benign)
    statics = {binding["name"]: binding["value"] for binding in evil["spec"]["bindings"] if "name" in binding}
    # Static binding values are JSON-escaped, as Triggers pastes them into the template's JSON text.
    assert json.loads(f'"{statics["workspace"]}"') == hostile
    assert json.loads(f'"{statics["git_url"]}"') == hostile
    assert interceptor(evil, "github")["secretRef"] == {"secretName": hostile, "secretKey": hostile}


@needs_cel
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_repository_and_branch_stay_literals_inside_the_cel_filter(hostile: str) -> None:
    trigger = rendered_trigger(git_url=hostile, branch=hostile)
    filter_expression = interceptor(trigger, "cel")["filter"]
    exact = push_body(ref=f"refs/heads/{hostile}") | {
        "repository": {"clone_url": hostile, "html_url": "-", "ssh_url": "-"}
    }
    assert cel_true(filter_expression, exact)
    assert not cel_true(filter_expression, push_body())
    assert not cel_true(filter_expression, exact | {"ref": "refs/heads/main"})


@pytest.mark.parametrize("key", ["workspace", "app", "git_url", "context_dir", "dockerfile", "image_repository"])
def test_an_input_holding_a_triggers_expression_is_refused(key: str) -> None:
    # Triggers would evaluate "$(body.x)" in a static binding value against the delivery.
    with pytest.raises(ManifestError, match=r"\$\("):
        render_webhook_trigger(**{**APP, key: "x$(body.head_commit.message)"})


def test_a_missing_input_is_an_error_not_an_empty_value() -> None:
    values = dict(APP)
    del values["branch"]
    with pytest.raises(ManifestError, match="undefined"):
        render_webhook_trigger(**values)


def test_every_value_in_the_template_goes_through_tojson() -> None:
    text = (MANIFESTS_DIR / "webhook-trigger.yaml.j2").read_text()
    body = text.split("-#}", 1)[1]
    expressions = re.findall(r"\{\{(.*?)\}\}", body, re.DOTALL)
    assert expressions
    for expression in expressions:
        expression = expression.strip()
        assert expression.endswith(("| tojson", "| triggers_literal")), expression


@needs_cel
@pytest.mark.timeout(1800)  # the first use builds the tool around Triggers' code
@pytest.mark.parametrize("context_dir", ["services/web", *HOSTILE])
def test_triggers_own_code_renders_the_webhook_taskrun_the_emulation_renders(context_dir: str) -> None:
    trigger = rendered_trigger(context_dir=context_dir)
    body = push_body()
    expected = deliver(trigger, body)
    assert expected is not None
    expected["metadata"].pop("namespace")
    objects = triggers_objects()
    cel_params = interceptor(trigger, "cel")
    extensions = {overlay["key"]: str(cel(overlay["expression"], body)) for overlay in cel_params["overlays"]}
    bindings = [find_object(objects, "TriggerBinding", b["ref"]) for b in trigger["spec"]["bindings"] if "ref" in b]
    template = find_object(objects, "TriggerTemplate", trigger["spec"]["template"]["ref"])
    (raw,) = triggers_render(trigger, bindings, [template], body, signed_headers(json.dumps(body).encode()), extensions)
    assert json.loads(raw) == expected


@needs_cel
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_app_inputs_arrive_unchanged_in_the_taskrun_and_cannot_change_its_structure(hostile: str) -> None:
    trigger = rendered_trigger(context_dir=hostile, dockerfile=hostile, image_repository=hostile)
    taskrun = deliver(trigger, push_body())
    benign = deliver(rendered_trigger(), push_body())
    assert taskrun is not None and benign is not None

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shape(item) for item in value]
        return type(value).__name__

    assert shape(taskrun) == shape(benign)
    params = params_of(taskrun)
    assert params["CONTEXT"] == hostile
    assert params["DOCKERFILE"] == hostile
    assert params["IMAGE"] == f"{hostile}:{COMMIT}"
