"""Shared machinery for the triggers/ tests: Tekton sources from the Go module cache, schema and Go-type
checks, and a faithful re-implementation of how Tekton Triggers resolves bindings and templates.

Used by the other tests/unit/test_triggers_*.py modules; it holds no tests itself. Nothing here copies
Tekton's schemas or types: they are read at test time from the modules `go mod download` puts in the
module cache (the only network access, and a cached one).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tekton_runner.manifests import Renderer

REPO = Path(__file__).resolve().parents[2]
TRIGGERS_DIR = REPO / "triggers"
MANIFESTS_DIR = REPO / "manifests"

PIPELINE = ("github.com/tektoncd/pipeline", "v1.15.0")
TRIGGERS = ("github.com/tektoncd/triggers", "v0.37.0")
KUBERNETES_VERSION = "1.35.0"

CORE_API_GROUPS = {"v1", "rbac.authorization.k8s.io/v1", "apps/v1", "batch/v1"}


# --------------------------------------------------------------------------------------------- modules


@functools.cache
def go_module_dir(module: str, version: str) -> Path:
    """Directory of module@version in the Go module cache, downloading it on first use."""
    with tempfile.TemporaryDirectory() as outside_any_module:
        try:
            done = subprocess.run(
                ["go", "mod", "download", "-json", f"{module}@{version}"],
                cwd=outside_any_module,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except FileNotFoundError:
            pytest.fail("the go tool is needed to read Tekton's schemas and types from the module cache")
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in info:
        pytest.fail(f"go mod download {module}@{version} failed: {info.get('Error') or done.stderr}")
    return Path(info["Dir"])


@functools.cache
def go_requirement(module_dir: Path, required: str) -> str:
    """The version of `required` that the go.mod in module_dir asks for."""
    text = (module_dir / "go.mod").read_text()
    found = re.search(rf"^\s*{re.escape(required)}\s+(v\S+)", text, re.MULTILINE)
    if not found:
        raise LookupError(f"{required} not required by {module_dir}/go.mod")
    return found.group(1)


def pipeline_dir() -> Path:
    return go_module_dir(*PIPELINE)


def triggers_dir() -> Path:
    return go_module_dir(*TRIGGERS)


def module_for_package(package: str) -> Path | None:
    """Source directory of a Go import path, for the modules these tests read; None for the rest."""
    roots = {
        PIPELINE[0]: pipeline_dir,
        TRIGGERS[0]: triggers_dir,
        "k8s.io/api": lambda: go_module_dir("k8s.io/api", go_requirement(pipeline_dir(), "k8s.io/api")),
        "k8s.io/apimachinery": lambda: go_module_dir(
            "k8s.io/apimachinery", go_requirement(pipeline_dir(), "k8s.io/apimachinery")
        ),
    }
    for root, locate in roots.items():
        if package == root or package.startswith(root + "/"):
            return locate() / package[len(root) :].lstrip("/")
    return None


# ------------------------------------------------------------------------------------------ CRD schemas


@functools.cache
def crd_schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema, from Tekton's CRD files in the module cache."""
    files = sorted((pipeline_dir() / "config" / "300-crds").glob("*.yaml"))
    files += sorted((triggers_dir() / "config").glob("300-*.yaml"))
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema is not None:
                    schemas[(spec["group"], version["name"], spec["names"]["kind"])] = schema
    if not schemas:
        pytest.fail("no Tekton CRD schemas found in the module cache")
    return schemas


def _strict_structural(schema: Any) -> Any:
    """A copy of a structural schema that rejects the fields the API server's strict field
    validation would report as unknown (objects with properties, not preserving unknown fields)."""
    if isinstance(schema, list):
        return [_strict_structural(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict_structural(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in schema
    ):
        out["additionalProperties"] = False
    return out


def crd_schema_errors(obj: Mapping[str, Any]) -> list[str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    key = (group, version, obj["kind"])
    schema = crd_schemas().get(key)
    if schema is None:
        return [f"no served CRD version for {obj['apiVersion']} {obj['kind']}"]
    validator = jsonschema.Draft7Validator(_strict_structural(schema))
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(dict(obj))
    ]


def kubernetes_schema_errors(obj: Mapping[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [str(error)]
    return []


# -------------------------------------------------------------------------------------------- Go types


_BASIC = {
    "string": str,
    "bool": bool,
    "int": int,
    "int8": int,
    "int16": int,
    "int32": int,
    "int64": int,
    "uint": int,
    "uint8": int,
    "uint16": int,
    "uint32": int,
    "uint64": int,
    "byte": int,
    "float32": (int, float),
    "float64": (int, float),
}

# Types whose JSON form is decided by their own UnmarshalJSON in a module these tests do not parse.
_KNOWN_OPAQUE = {
    "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1.JSON",
    "encoding/json.RawMessage",
}


@dataclass
class GoField:
    json_name: str | None  # None: embedded and inlined
    type_expr: str


@dataclass
class GoType:
    package: str
    name: str
    imports: dict[str, str]
    fields: list[GoField] | None = None  # a struct
    underlying: str | None = None  # a defined type or alias
    opaque: bool = False  # has its own UnmarshalJSON


@dataclass
class GoPackage:
    path: str
    types: dict[str, GoType] = field(default_factory=dict)


_IMPORT_LINE = re.compile(r'^\s*(?:(\w+|\.|_)\s+)?"([^"]+)"')
_FIELD = re.compile(r"^(\w+)\s+(\S+)(?:\s+`(.*)`)?")
_EMBEDDED = re.compile(r"^(\*?[\w.]+)(?:\s+`(.*)`)?$")
_JSON_TAG = re.compile(r'json:"([^"]*)"')
_UNMARSHAL = re.compile(r"^func \(\w+ \*?(\w+)\) UnmarshalJSON\(", re.MULTILINE)


def _imports(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    block = re.search(r"^import \((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    lines = block.group(1).splitlines() if block else []
    lines += re.findall(r"^import (.+)$", text, re.MULTILINE)
    for line in lines:
        match = _IMPORT_LINE.match(line)
        if match:
            alias, path = match.groups()
            found[alias or path.rsplit("/", 1)[-1]] = path
    return found


def _struct_fields(body: list[str]) -> list[GoField]:
    fields: list[GoField] = []
    depth = 0
    for raw in body:
        line = raw.split("//", 1)[0].strip() if not raw.strip().startswith("//") else ""
        if "`" in raw and not raw.strip().startswith("//"):
            line = raw.strip()  # tags may hold "//" (URLs in tags are rare but possible)
        if not line:
            continue
        if depth > 0:
            depth += line.count("{") - line.count("}")
            continue
        if line.endswith("struct {"):
            # An anonymous nested struct: not used by the API types these tests read.
            name = line.split()[0]
            fields.append(GoField(json_name=name, type_expr="interface{}"))
            depth = 1
            continue
        tag_json = None
        tag = _JSON_TAG.search(line)
        if tag:
            tag_json = tag.group(1)
        embedded = _EMBEDDED.match(line)
        plain = _FIELD.match(line)
        if embedded and (not plain or plain.group(2).startswith("`")):
            type_expr = embedded.group(1)
            name = (tag_json or "").split(",")[0]
            if name == "-":
                continue
            fields.append(GoField(json_name=name or None, type_expr=type_expr))
            continue
        if not plain:
            continue
        go_name, type_expr = plain.group(1), plain.group(2)
        if not go_name[0].isupper():
            continue
        name = go_name if tag_json is None else tag_json.split(",")[0] or go_name
        if name == "-":
            continue
        fields.append(GoField(json_name=name, type_expr=type_expr))
    return fields


@functools.cache
def go_package(path: str) -> GoPackage | None:
    """Parse the exported types of one Go package (non-test files) from the module cache."""
    directory = module_for_package(path)
    if directory is None or not directory.is_dir():
        return None
    package = GoPackage(path=path)
    for source in sorted(directory.glob("*.go")):
        if source.name.endswith("_test.go"):
            continue
        text = source.read_text()
        imports = _imports(text)
        opaque = set(_UNMARSHAL.findall(text))
        lines = text.splitlines()
        index = 0
        in_group = False
        while index < len(lines):
            line = lines[index]
            if line.startswith("type ("):
                in_group = True
                index += 1
                continue
            if in_group and line.startswith(")"):
                in_group = False
                index += 1
                continue
            head = None
            if line.startswith("type "):
                head = line[len("type ") :]
            elif in_group and line.startswith("\t") and not line.startswith("\t\t"):
                head = line.strip()
            if head is None or head.startswith("//"):
                index += 1
                continue
            struct = re.match(r"^(\w+)\s+struct\s*\{\s*(\})?", head)
            if struct:
                name = struct.group(1)
                body: list[str] = []
                if not struct.group(2):
                    depth = 1
                    index += 1
                    while index < len(lines):
                        current = lines[index]
                        stripped = current.strip()
                        if not stripped.startswith("//"):
                            depth += stripped.count("{") - stripped.count("}")
                        if depth <= 0:
                            break
                        body.append(current)
                        index += 1
                package.types[name] = GoType(path, name, imports, fields=_struct_fields(body))
            else:
                alias = re.match(r"^(\w+)\s+(?:=\s*)?([^\s{]+)", head)
                if alias and alias.group(1)[0].isupper():
                    package.types[alias.group(1)] = GoType(path, alias.group(1), imports, underlying=alias.group(2))
            index += 1
        for name in opaque:
            if name in package.types:
                package.types[name].opaque = True
    return package


@dataclass
class StrictCheck:
    """Walks a JSON value along a Go type and collects fields encoding/json would not fill."""

    unknown: list[str] = field(default_factory=list)
    wrong_type: list[str] = field(default_factory=list)
    unresolved: set[str] = field(default_factory=set)

    def check(self, value: Any, type_expr: str, context: GoType | GoPackage, path: str) -> None:
        type_expr = type_expr.lstrip("*")
        if value is None:
            return
        if type_expr.startswith("[]"):
            if type_expr == "[]byte":
                return
            if not isinstance(value, list):
                self.wrong_type.append(f"{path}: expected a list for {type_expr}")
                return
            for index, item in enumerate(value):
                self.check(item, type_expr[2:], context, f"{path}[{index}]")
            return
        if type_expr.startswith("map["):
            if not isinstance(value, dict):
                self.wrong_type.append(f"{path}: expected a map for {type_expr}")
                return
            inner = type_expr[type_expr.index("]") + 1 :]
            for key, item in value.items():
                self.check(item, inner, context, f"{path}.{key}")
            return
        if type_expr in {"interface{}", "any"}:
            return
        if type_expr in _BASIC:
            if not isinstance(value, _BASIC[type_expr]) or (type_expr != "bool" and isinstance(value, bool)):
                self.wrong_type.append(f"{path}: {value!r} is not a Go {type_expr}")
            return
        resolved = self.resolve(type_expr, context)
        if resolved is None:
            return
        if resolved.opaque:
            return
        if resolved.underlying is not None:
            self.check(value, resolved.underlying, resolved, path)
            return
        if not isinstance(value, dict):
            self.wrong_type.append(f"{path}: expected an object for {resolved.package}.{resolved.name}")
            return
        known = self.fields(resolved)
        for key, item in value.items():
            if key not in known:
                self.unknown.append(f"{path}.{key} (not a field of {resolved.package}.{resolved.name})")
                continue
            owner, go_field = known[key]
            self.check(item, go_field.type_expr, owner, f"{path}.{key}")

    def resolve(self, type_expr: str, context: GoType | GoPackage) -> GoType | None:
        if "." in type_expr:
            alias, name = type_expr.split(".", 1)
            imports = context.imports if isinstance(context, GoType) else {}
            package_path = imports.get(alias, alias)
        else:
            package_path, name = context.path if isinstance(context, GoPackage) else context.package, type_expr
        qualified = f"{package_path}.{name}"
        if qualified in _KNOWN_OPAQUE:
            return None
        package = go_package(package_path)
        if package is None or name not in package.types:
            self.unresolved.add(qualified)
            return None
        return package.types[name]

    def fields(self, go_type: GoType) -> dict[str, tuple[GoType, GoField]]:
        known: dict[str, tuple[GoType, GoField]] = {}
        for go_field in go_type.fields or []:
            if go_field.json_name is not None:
                known[go_field.json_name] = (go_type, go_field)
                continue
            embedded = self.resolve(go_field.type_expr.lstrip("*"), go_type)
            if embedded is None:
                continue
            if embedded.opaque and embedded.name == "RawExtension":
                raise AssertionError("an inlined RawExtension accepts any field; check it separately")
            known.update(self.fields(embedded))
        return known


TOP_LEVEL_TYPES = {
    ("tekton.dev", "v1", "Task"): ("github.com/tektoncd/pipeline/pkg/apis/pipeline/v1", "Task"),
    ("tekton.dev", "v1", "TaskRun"): ("github.com/tektoncd/pipeline/pkg/apis/pipeline/v1", "TaskRun"),
    **{
        ("triggers.tekton.dev", "v1beta1", kind): ("github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1", kind)
        for kind in ("EventListener", "Trigger", "TriggerBinding", "TriggerTemplate", "ClusterTriggerBinding")
    },
}

INTERCEPTOR_PARAM_TYPES = {
    "github": ("github.com/tektoncd/triggers/pkg/interceptors/github", "InterceptorParams"),
    "cel": ("github.com/tektoncd/triggers/pkg/interceptors/cel", "InterceptorParams"),
}


def go_type_errors(obj: Mapping[str, Any]) -> list[str]:
    """Fields of a Tekton object that Tekton's Go types (read from the module cache) do not have."""
    group, _, version = obj["apiVersion"].rpartition("/")
    package_path, name = TOP_LEVEL_TYPES[(group, version, obj["kind"])]
    package = go_package(package_path)
    assert package is not None, package_path
    top = {key: value for key, value in obj.items() if key != "status"}
    if obj["kind"] == "TriggerTemplate":
        # resourcetemplates are RawExtensions: checked on their own after rendering.
        top = copy.deepcopy(top)
        for template in top.get("spec", {}).get("resourcetemplates", []):
            template.clear()
    checker = StrictCheck()
    checker.check(top, name, package, obj["kind"])
    for trigger_path, interceptors in _interceptor_lists(obj):
        for index, interceptor in enumerate(interceptors):
            params_type = INTERCEPTOR_PARAM_TYPES.get((interceptor.get("ref") or {}).get("name", ""))
            if params_type is None:
                continue
            params = {param["name"]: param.get("value") for param in interceptor.get("params", [])}
            params_package = go_package(params_type[0])
            assert params_package is not None
            checker.check(params, params_type[1], params_package, f"{trigger_path}.interceptors[{index}].params")
    problems = checker.unknown + checker.wrong_type
    problems += [f"type not found in the module cache: {name}" for name in sorted(checker.unresolved)]
    return problems


def _interceptor_lists(obj: Mapping[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Trigger":
        yield "spec", spec.get("interceptors") or []
    if obj["kind"] == "EventListener":
        for index, trigger in enumerate(spec.get("triggers") or []):
            yield f"spec.triggers[{index}]", trigger.get("interceptors") or []


def all_schema_errors(obj: Mapping[str, Any]) -> list[str]:
    """Every check that applies to obj: Kubernetes OpenAPI for core kinds, Tekton CRD schema and
    Tekton Go types for Tekton kinds."""
    if obj["apiVersion"] in CORE_API_GROUPS:
        return kubernetes_schema_errors(obj)
    return crd_schema_errors(obj) + go_type_errors(obj)


# ----------------------------------------------------------------------------------------- triggers/


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def triggers_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in sorted(TRIGGERS_DIR.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or "components" in path.relative_to(TRIGGERS_DIR).parts:
            continue
        objects += load_yaml_documents(path)
    return objects


def find_object(objects: Iterable[Mapping[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return dict(obj)
    raise LookupError(f"{kind}/{name} not in triggers/")


def render_webhook_trigger(**values: Any) -> str:
    """The Trigger as the runner renders it (its Renderer: tojson enforced, StrictUndefined), as YAML text."""
    return yaml.safe_dump_all(Renderer(MANIFESTS_DIR).render("webhook-trigger.yaml.j2", values), sort_keys=False)


# ------------------------------------------------------------------ Triggers' template resolution


def go_json(value: Any) -> str:
    """encoding/json's Marshal output: compact, map keys sorted, <, >, & and U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for plain, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(plain, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class BindingError(LookupError):
    """A $(...) expression that does not resolve (Triggers then uses the template default or fails)."""


def _find_expressions(value: str) -> list[str]:
    """Triggers' findTektonExpressions: each $( up to its first unbalanced )."""
    found: list[str] = []
    for piece in value.split("$(")[1:]:
        depth = 0
        for index, char in enumerate(piece):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth < 0:
                    found.append(piece[:index])
                    break
    return found


def _json_path(event: Mapping[str, Any], expression: str) -> str:
    node: Any = event
    head, _, rest = expression.partition(".")
    if head == "header":
        canonical = "-".join(part.capitalize() for part in rest.split("-"))
        headers = {key: value for key, value in event["header"].items()}
        if canonical not in headers:
            raise BindingError(expression)
        node = headers[canonical]
    else:
        for part in [head, *re.split(r"(?<!\\)\.", rest)] if rest else [head]:
            part = part.replace("\\.", ".")
            if not isinstance(node, dict) or part not in node:
                raise BindingError(expression)
            node = node[part]
    if isinstance(node, str):
        return go_json(node)[1:-1]
    return go_json(node)


def resolve_binding_params(
    bindings: list[Mapping[str, str]],
    template_params: list[Mapping[str, Any]],
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    extensions: Mapping[str, Any] | None = None,
    event_id: str = "00000000-0000-4000-8000-000000000000",
) -> dict[str, str]:
    """Triggers' applyEventValuesToParams: template defaults first, then each binding value with its
    $(...) expressions replaced by the JSONPath result (default on failure, else an error)."""
    event = {
        "header": dict(headers),
        "body": json.loads(json.dumps(body)),
        "extensions": dict(extensions or {}),
        "context": {"eventID": event_id},
    }
    values = {spec["name"]: spec["default"] for spec in template_params if "default" in spec}
    seen: set[str] = set()
    for binding in bindings:
        name, value = binding["name"], binding["value"]
        if name in seen:
            raise AssertionError(f"duplicate binding param {name}")
        seen.add(name)
        for expression in _find_expressions(value):
            try:
                resolved = _json_path(event, expression)
            except BindingError:
                if name in values:
                    resolved = values[name]
                else:
                    raise
            value = value.replace(f"$({expression})", resolved)
        values[name] = value
    return values


def render_resource_templates(
    template: Mapping[str, Any], params: Mapping[str, str], order: list[str] | None = None, uid: str = "uid0"
) -> list[bytes]:
    """Triggers' ResolveResources: byte replacement of $(tt.params.X) (values with "$(" escaped to
    "$$(") and then $(uid), in the JSON form of each resource template. Go iterates the params in map
    order, which is random, so the caller may choose the order."""
    declared = [spec["name"] for spec in template["spec"]["params"]]
    missing = [name for name in declared if name not in params]
    if missing:
        raise BindingError(f"template params without value or default: {missing}")
    names = order if order is not None else list(params)
    rendered = []
    for resource in template["spec"]["resourcetemplates"]:
        raw = go_json(resource).encode()
        for name in names:
            value = params[name].replace("$(", "$$(")
            raw = raw.replace(f"$(tt.params.{name})".encode(), value.encode())
        rendered.append(raw.replace(b"$(uid)", uid.encode()))
    return rendered


# --------------------------------------------------------------------- Tekton Task/TaskRun checks


_TEKTON_REFERENCE = re.compile(r"\$\((params|results|workspaces)\.([^)]*)\)")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def task_reference_errors(task: Mapping[str, Any]) -> list[str]:
    """References Tekton's Task validation would reject: unknown $(params/results/workspaces.*), array
    params outside a whole-argument [*], steps without command or script, bad step names."""
    spec = task["spec"]
    params = {param["name"]: param.get("type", "string") for param in spec.get("params", [])}
    results = {result["name"] for result in spec.get("results", [])}
    workspaces = {workspace["name"] for workspace in spec.get("workspaces", [])}
    errors: list[str] = []
    names = [step["name"] for step in spec["steps"]]
    if len(set(names)) != len(names):
        errors.append(f"duplicate step names {names}")
    for step in spec["steps"]:
        where = f"step {step['name']}"
        if not DNS_LABEL.match(step["name"]):
            errors.append(f"{where}: name is not a DNS label")
        if not step.get("command") and not step.get("script"):
            errors.append(f"{where}: neither command nor script (Tekton would ask the registry)")
        if step.get("command") and step.get("script"):
            errors.append(f"{where}: script cannot be used with command")
        for text_path, text in _strings(step, where):
            for kind, reference in _TEKTON_REFERENCE.findall(text):
                if kind == "params":
                    base = reference.split("[", 1)[0]
                    if base not in params:
                        errors.append(f"{text_path}: unknown param {reference}")
                    elif params[base] == "array" and not (
                        reference.endswith("[*]") and text == f"$(params.{reference})"
                    ):
                        errors.append(f"{text_path}: array param {base} must be a whole argument $(params.{base}[*])")
                    elif params[base] == "array" and not text_path.startswith(f"{where}.args"):
                        errors.append(f"{text_path}: array param {base} used outside args")
                elif kind == "results":
                    if not reference.endswith(".path") or reference[: -len(".path")] not in results:
                        errors.append(f"{text_path}: unknown result {reference}")
                elif kind == "workspaces":
                    workspace, _, attribute = reference.rpartition(".")
                    if workspace not in workspaces or attribute not in {"path", "bound", "claim", "volume"}:
                        errors.append(f"{text_path}: unknown workspace reference {reference}")
            if "script" in text_path and _TEKTON_REFERENCE.search(text):
                errors.append(f"{text_path}: a $(...) value inside a script would be pasted into shell code")
    return errors


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def taskrun_against_task_errors(taskrun: Mapping[str, Any], task: Mapping[str, Any]) -> list[str]:
    """A TaskRun's params and workspace bindings against the Task's declarations."""
    errors: list[str] = []
    declared = {param["name"]: param for param in task["spec"].get("params", [])}
    given = [param["name"] for param in taskrun["spec"].get("params", [])]
    errors += [f"param {name} is not declared by the Task" for name in given if name not in declared]
    errors += [
        f"param {name} has no default and no value"
        for name, param in declared.items()
        if "default" not in param and name not in given
    ]
    workspaces = {workspace["name"]: workspace for workspace in task["spec"].get("workspaces", [])}
    bound = [binding["name"] for binding in taskrun["spec"].get("workspaces", [])]
    errors += [f"workspace {name} is not declared by the Task" for name in bound if name not in workspaces]
    errors += [
        f"workspace {name} is required and not bound"
        for name, workspace in workspaces.items()
        if not workspace.get("optional") and name not in bound
    ]
    metadata = taskrun["metadata"]
    name = metadata.get("name", "")
    if len(name) > 63 or not DNS_LABEL.match(name):
        errors.append(f"TaskRun name {name!r} is not a DNS label of at most 63 characters")
    for key, value in (metadata.get("labels") or {}).items():
        if len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(f"label {key}={value!r} is not a valid label value")
    return errors


# ------------------------------------------------------------------- Tekton's own validation code

# A small Go program, built once per version pair into the local cache (never into the repository):
# it decodes objects strictly into Tekton's own types and runs Tekton's SetDefaults and Validate, as
# the admission webhooks do on create; and it renders an event through Triggers' own pkg/template.
_VALIDATOR_GO_MOD = f"""module tekton-runner.local/tekton-validate

go 1.26.4

require (
\tgithub.com/tektoncd/pipeline {PIPELINE[1]}
\tgithub.com/tektoncd/triggers {TRIGGERS[1]}
)
"""
_VALIDATOR_MAIN_GO = """// tekton-validate: reads one JSON request on stdin and answers on stdout.
//
//	{"validate": [objects...]}  -> ["" or the refusal, one per object]: strict decoding into Tekton's
//	                               types, then Tekton's SetDefaults and Validate as on create.
//	{"render": {...}}           -> {"resources": [JSON text...], "error": ""}: Triggers' own
//	                               ResolveTrigger, ResolveParams and ResolveResources for one event.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggersv1beta1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/template"
	"knative.dev/pkg/apis"
)

type object interface {
	apis.Validatable
	apis.Defaultable
}

func newObject(apiVersion, kind string) object {
	switch apiVersion + " " + kind {
	case "tekton.dev/v1 Task":
		return &pipelinev1.Task{}
	case "tekton.dev/v1 TaskRun":
		return &pipelinev1.TaskRun{}
	case "triggers.tekton.dev/v1beta1 EventListener":
		return &triggersv1beta1.EventListener{}
	case "triggers.tekton.dev/v1beta1 Trigger":
		return &triggersv1beta1.Trigger{}
	case "triggers.tekton.dev/v1beta1 TriggerBinding":
		return &triggersv1beta1.TriggerBinding{}
	case "triggers.tekton.dev/v1beta1 TriggerTemplate":
		return &triggersv1beta1.TriggerTemplate{}
	}
	return nil
}

func validate(raw json.RawMessage) string {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	_ = json.Unmarshal(raw, &head)
	obj := newObject(head.APIVersion, head.Kind)
	if obj == nil {
		return "unsupported " + head.APIVersion + " " + head.Kind
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(obj); err != nil {
		return "decode: " + err.Error()
	}
	ctx := apis.WithinCreate(context.Background())
	obj.SetDefaults(ctx)
	if err := obj.Validate(ctx); err != nil {
		return "validate: " + err.Error()
	}
	return ""
}

type renderRequest struct {
	Trigger    triggersv1beta1.Trigger           `json:"trigger"`
	Bindings   []triggersv1beta1.TriggerBinding  `json:"bindings"`
	Templates  []triggersv1beta1.TriggerTemplate `json:"templates"`
	Body       string                            `json:"body"`
	Headers    map[string]string                 `json:"headers"`
	Extensions map[string]interface{}            `json:"extensions"`
	EventID    string                            `json:"eventID"`
}

type renderResponse struct {
	Resources []string `json:"resources"`
	Error     string   `json:"error"`
}

func render(request renderRequest) renderResponse {
	getTB := func(name string) (*triggersv1beta1.TriggerBinding, error) {
		for i := range request.Bindings {
			if request.Bindings[i].Name == name {
				return &request.Bindings[i], nil
			}
		}
		return nil, fmt.Errorf("TriggerBinding %s not found", name)
	}
	getCTB := func(name string) (*triggersv1beta1.ClusterTriggerBinding, error) {
		return nil, fmt.Errorf("ClusterTriggerBinding %s not found", name)
	}
	getTT := func(name string) (*triggersv1beta1.TriggerTemplate, error) {
		for i := range request.Templates {
			if request.Templates[i].Name == name {
				return &request.Templates[i], nil
			}
		}
		return nil, fmt.Errorf("TriggerTemplate %s not found", name)
	}
	resolved, err := template.ResolveTrigger(request.Trigger, getTB, getCTB, getTT)
	if err != nil {
		return renderResponse{Error: err.Error()}
	}
	header := http.Header{}
	for key, value := range request.Headers {
		header.Set(key, value)
	}
	extensions := request.Extensions
	if extensions == nil {
		extensions = map[string]interface{}{}
	}
	params, err := template.ResolveParams(resolved, []byte(request.Body), header, extensions,
		template.NewTriggerContext(request.EventID))
	if err != nil {
		return renderResponse{Error: err.Error()}
	}
	response := renderResponse{Resources: []string{}}
	for _, resource := range template.ResolveResources(resolved.TriggerTemplate, params) {
		response.Resources = append(response.Resources, string(resource))
	}
	return response
}

func main() {
	var request struct {
		Validate []json.RawMessage `json:"validate"`
		Render   *renderRequest    `json:"render"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&request); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var answer interface{}
	switch {
	case request.Render != nil:
		answer = render(*request.Render)
	case request.Validate != nil:
		verdicts := []string{}
		for _, raw := range request.Validate {
			verdicts = append(verdicts, validate(raw))
		}
		answer = verdicts
	default:
		fmt.Fprintln(os.Stderr, errors.New("neither validate nor render"))
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(answer); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
"""


@functools.cache
def tekton_validator() -> Path:
    """Path of the built validator; builds it on first use (minutes when the Go build cache is cold)."""
    cache = Path(os.environ.get("TEKTON_RUNNER_CACHE", Path.home() / ".cache" / "tekton-runner"))
    digest = hashlib.sha256((_VALIDATOR_GO_MOD + _VALIDATOR_MAIN_GO).encode()).hexdigest()[:12]
    workdir = cache / "test-tools" / f"tekton-validate-{digest}"
    binary = workdir / "tekton-validate"
    if binary.exists():
        return binary
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "go.mod").write_text(_VALIDATOR_GO_MOD)
    (workdir / "main.go").write_text(_VALIDATOR_MAIN_GO)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    for command in (["go", "mod", "tidy"], ["go", "build", "-o", f"{binary}.part", "."]):
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=1500, check=False)
        if done.returncode != 0:
            pytest.fail(f"building Tekton's validator failed at {' '.join(command)}:\n{done.stderr[-4000:]}")
    Path(f"{binary}.part").rename(binary)
    return binary


def tekton_validation_errors(objects: list[Mapping[str, Any]]) -> list[str]:
    """One message per object that Tekton's own decoding and validation refuse (empty when all pass)."""
    done = subprocess.run(
        [str(tekton_validator())],
        input=json.dumps({"validate": [dict(obj) for obj in objects]}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verdicts = json.loads(done.stdout)
    return [
        f"{obj['kind']}/{obj['metadata'].get('name')}: {verdict}"
        for obj, verdict in zip(objects, verdicts, strict=True)
        if verdict
    ]


def triggers_render(
    trigger: Mapping[str, Any],
    bindings: list[Mapping[str, Any]],
    templates: list[Mapping[str, Any]],
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    extensions: Mapping[str, Any] | None = None,
) -> list[str]:
    """The resources Triggers' own ResolveTrigger/ResolveParams/ResolveResources make of one event, as
    JSON text (not parsed, so that a broken result shows). Raises BindingError when Triggers refuses."""
    request = {
        "render": {
            "trigger": dict(trigger),
            "bindings": [dict(binding) for binding in bindings],
            "templates": [dict(template) for template in templates],
            "body": json.dumps(body),
            "headers": dict(headers),
            "extensions": dict(extensions or {}),
            "eventID": "00000000-0000-4000-8000-000000000000",
        }
    }
    done = subprocess.run(
        [str(tekton_validator())], input=json.dumps(request), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    if answer["error"]:
        raise BindingError(answer["error"])
    return list(answer["resources"])
