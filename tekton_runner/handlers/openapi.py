"""The OpenAPI document, generated from the pydantic models that validate requests and shape answers.

Each operation below names its query model, request model and answer models; the schemas come from
pydantic, so a field added to a model appears here by itself. Called by GET /openapi.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ..models import api
from ..models.apps import AppRegistration
from ..models.spec import RunSpec
from .problems import HEADER_TEXT
from .progress import MAX_DIGITS

Json = dict[str, Any]
ERROR_TEXT = {
    400: "Malformed JSON (not UTF-8, not JSON, or nested deeper than 32 levels)",
    401: "Missing or wrong bearer token",
    404: "Not found",
    408: "No part of the body arrived in time",
    409: "Conflict (see `error` and `fields`)",
    410: "Gone: what was asked for existed and was removed (`message` says what and why)",
    413: "Body too large",
    415: "Wrong Content-Type",
    422: "Invalid fields, each named with its reason",
    429: "Too many at once: try again after `Retry-After` seconds",
    502: "The Kubernetes API server refused or failed the change",
    503: "Not ready",
}
JSON_BODY = (400, 408, 413, 415, 422)
CE_TYPE = r"^dev\.tekton\.event\.taskrun\.[a-z]+\.v1$"


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" or "header"
    schema: Json
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    answers: dict[int, tuple[str, type[BaseModel] | None]]
    errors: tuple[int, ...] = ()
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    open: bool = False  # no token needed
    raw_body: Json | None = None  # a request body that is not a pydantic model
    body_required: bool = True
    extra: Json = field(default_factory=dict)


def _id(name: str, pattern: str | None = None) -> Param:
    schema: Json = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return Param(name, "path", schema)


CE_HEADERS = tuple(
    Param(name, "header", schema)
    for name, schema in (
        ("ce-specversion", {"type": "string", "const": "1.0"}),
        ("ce-id", {"type": "string", "minLength": 1, "pattern": r"^[\x21-\x7e]+$"}),
        ("ce-source", {"type": "string", "minLength": 1, "pattern": r"^[\x21-\x7e]+$"}),
        ("ce-type", {"type": "string", "minLength": 1, "pattern": r"^[\x21-\x7e]+$",
                     "description": "`dev.tekton.event.taskrun.<reason>.v1` is read; other types are ignored"}),
    )
)
EVENT_BODY = {"application/json": {"schema": {
    "description": "The event's data: `{\"taskRun\": <the TaskRun>}` for a TaskRun event; other data is not read"}}}

# One message of GET /runs/{id}/events as an EventSource sees it; `data` is a models.progress.Progress.
SSE_MESSAGE: Json = {
    "type": "object", "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The transition's number in the run"},
        "event": {"enum": ["run", "step"]},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "description": "seq, at, subject, step, state, reason, message"},
    },
}

IDEMPOTENCY_KEY = Param("Idempotency-Key", "header", {"type": "string", "minLength": 1, "maxLength": 255,
                                                      "pattern": f"^{HEADER_TEXT.pattern}$"},
                        required=False, description="Makes retries safe: the same key and request give one run")

OPERATIONS = (
    Operation("post", "/run", "Start a run: build with Tekton, then deploy into ws-<workspace>",
              {202: ("Stored, `pending`: the build request is sent from the stored run (GET /runs/{id} shows"
                     " `building` and the eventID once the EventListener accepted it)", api.RunSummary),
               200: ("A retry with the same Idempotency-Key: the run the first request created", api.RunSummary)},
              (*JSON_BODY, 409), body=RunSpec, params=(IDEMPOTENCY_KEY,)),
    Operation("post", "/runs/{run_id}/redeploy",
              "Deploy an ended run's digest-pinned image again as a new run, without a build",
              {202: ("The new run, `deploying`, its build step skipped (reason Redeploy)", api.RunSummary),
               200: ("A retry with the same Idempotency-Key: the run the first request created", api.RunSummary)},
              (404, 409, 422), params=(_id("run_id"), IDEMPOTENCY_KEY)),
    Operation("get", "/runs", "List runs, newest first, a page at a time", {200: ("Runs", api.RunList)}, (404, 422),
              query=api.RunsQuery),
    Operation("get", "/runs/{run_id}", "One run with its steps", {200: ("The run", api.RunDetail)}, (404,),
              params=(_id("run_id"),)),
    Operation("get", "/runs/{run_id}/logs", "A step's container logs as text/plain lines, `[<step or pod>] <line>`",
              {200: ("The log, streamed (chunked) until it ends, or with follow=1 until the containers end", None)},
              (400, 404, 410, 429, 502), query=api.LogsQuery, params=(_id("run_id"),),
              extra={"responses": {
                  "200": {"description": "The log, streamed (chunked); with follow=1 until the containers end",
                          "content": {"text/plain": {"schema": {"type": "string"}}}},
                  "400": {"description": "An unknown `step` or `follow` value, named in `fields`",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                  "404": {"description": "No such run, or the step has no pod (not reached, skipped, never had one)",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              }}),
    Operation("delete", "/runs/{run_id}", "Stop a run and delete its objects", {200: ("The run, now deleted",
                                                                                     api.RunDetail)},
              (404,), params=(_id("run_id"),)),
    Operation("get", "/runs/{run_id}/events", "Follow a run: its transitions as Server-Sent Events, until it ends",
              {200: ("text/event-stream: the stored transitions after Last-Event-ID, then each new one", None)},
              (404, 422, 503), params=(_id("run_id"), Param(
                  "Last-Event-ID", "header", {"type": "string", "pattern": "^[0-9]+$", "maxLength": MAX_DIGITS},
                  required=False,
                  description="Resume after this transition (what a reconnecting EventSource sends)")),
              query=api.EventsQuery,
              extra={"responses": {"200": {"description": "One message per transition: `id` its number, `event` "
                                           "`run` or `step`, `data` the transition (models/progress.py)",
                                           "content": {"text/event-stream": {"schema": SSE_MESSAGE}}}}}),
    Operation("post", "/sources", "Upload a zip source; returns an upload_id for source.type=zip",
              {201: ("Stored", api.UploadReceipt)}, (408, 413, 415, 422),
              raw_body={"application/zip": {"schema": {"type": "string", "format": "binary"}}}),
    Operation("get", "/sources/archive/{token}", "The build's one-time download of its source zip",
              {200: ("The zip", None)}, (404,), params=(_id("token"),), open=True,
              extra={"responses": {"200": {"description": "The zip", "content": {
                  "application/zip": {"schema": {"type": "string", "format": "binary"}}}}}}),
    Operation("head", "/sources/archive/{token}", "What the GET would answer, without using the link up",
              {200: ("The link works", None)}, (404,), params=(_id("token"),), open=True),
    Operation("post", "/cloudevents", "Tekton's CloudEvents sink (binary mode; structured mode is accepted too)",
              {202: ("Recorded or ignored", api.EventAnswer), 200: ("Already recorded", api.EventAnswer)},
              (400, 408, 413), params=CE_HEADERS, open=True, raw_body=EVENT_BODY, body_required=False),
    Operation("post", "/cloudevents/{secret}", "The sink behind TEKTON_RUNNER_EVENTS_PATH_SECRET (404 for any other)",
              {202: ("Recorded or ignored", api.EventAnswer), 200: ("Already recorded", api.EventAnswer)},
              (400, 404, 408, 413), params=(_id("secret"), *CE_HEADERS), open=True, raw_body=EVENT_BODY,
              body_required=False),
    Operation("get", "/endpoint", "Where an app answers, and whether it does now",
              {200: ("Addresses", api.EndpointView)}, (404, 422), query=api.EndpointQuery),
    Operation("get", "/external-map", "Every external port mapping with its traffic",
              {200: ("Mappings", api.ExternalMap)}),
    Operation("post", "/apps", "Register an app: every push to its branch is built and deployed",
              {201: ("Registered", api.AppView), 200: ("Registration replaced", api.AppView)},
              (*JSON_BODY, 409, 502), body=AppRegistration),
    Operation("get", "/apps", "Registered apps", {200: ("Apps", api.AppList)}),
    Operation("get", "/apps/{app_id}", "One registered app", {200: ("The app", api.AppView)}, (404,),
              params=(_id("app_id"),)),
    Operation("delete", "/apps/{app_id}", "Delete the app's Trigger and registration",
              {200: ("Deleted", api.AppDeleted)}, (404, 502), params=(_id("app_id"),)),
    Operation("get", "/workspaces", "Managed workspaces", {200: ("Workspaces", api.WorkspaceList)}),
    Operation("delete", "/workspaces/{name}", "Remove a workspace with its runs' objects and ports",
              {200: ("Removed", api.WorkspaceRemoved)}, (404,), params=(_id("name"),)),
    Operation("get", "/healthz", "Alive while the process runs", {200: ("Alive", api.Health)}, open=True),
    Operation("get", "/readyz", "Ready when the database and the Kubernetes API answer",
              {200: ("Ready", api.Readiness), 503: ("Not ready", api.Readiness)}, open=True),
    Operation("get", "/metrics", "Prometheus text format", {200: ("Metrics", None)}, open=True,
              extra={"responses": {"200": {"description": "Metrics", "content": {
                  "text/plain": {"schema": {"type": "string"}}}}}}),
    Operation("get", "/ui", "The web page (docs/ui.md); it holds no data and reads this API with the user's token",
              {200: ("The page", None)}, open=True,
              extra={"responses": {"200": {"description": "The page", "content": {
                  "text/html": {"schema": {"type": "string"}}}}}}),
    Operation("get", "/ui/{asset}", "The web page's script (app.js) and style (app.css)",
              {200: ("The file", None)}, (404,), params=(_id("asset"),), open=True,
              extra={"responses": {"200": {"description": "The file", "content": {
                  "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}}}}),
    Operation("get", "/openapi.json", "This document", {200: ("OpenAPI 3.1", None)}, open=True,
              extra={"responses": {"200": {"description": "OpenAPI 3.1", "content": {
                  "application/json": {"schema": {"type": "object"}}}}}}),
)


Refs = dict[tuple[type[BaseModel], JsonSchemaMode], Json]


def _schemas() -> tuple[Refs, Json]:
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(api.Error, "serialization")]
    for operation in OPERATIONS:
        if operation.body is not None:
            wanted.append((operation.body, "validation"))
        wanted += [(model, "serialization") for _, model in operation.answers.values() if model is not None]
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template="#/components/schemas/{model}")
    return {(model, mode): ref for (model, mode), ref in refs.items() if issubclass(model, BaseModel)}, dict(
        definitions.get("$defs", {}))


def _query_parameters(model: type[BaseModel]) -> list[Json]:
    """Each field of a query model as a parameter; `X | None` becomes an optional X (a query has no null)."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        description = prop.pop("description", "")
        if "anyOf" in prop:
            options = [option for option in prop.pop("anyOf") if option.get("type") != "null"]
            prop.pop("default", None)
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        parameter: Json = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _content(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _operation(operation: Operation, refs: Refs, secured: bool) -> Json:
    error = refs[(api.Error, "serialization")]
    responses: Json = {}
    for status, (description, model) in operation.answers.items():
        responses[str(status)] = {"description": description}
        if model is not None:
            responses[str(status)]["content"] = _content(refs[(model, "serialization")])
    codes = set(operation.errors) | ({401} if secured and not operation.open else set())
    for status in sorted(codes):
        responses[str(status)] = {"description": ERROR_TEXT[status], "content": _content(error)}
    responses.update(operation.extra.get("responses", {}))
    document: Json = {"summary": operation.summary, "operationId": f"{operation.method}_{operation.path}",
                      "responses": responses}
    parameters = [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
                   **({"description": p.description} if p.description else {})} for p in operation.params]
    if operation.query is not None:
        parameters += _query_parameters(operation.query)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {"required": True, "content": _content(refs[(operation.body, "validation")])}
    elif operation.raw_body is not None:
        document["requestBody"] = {"required": operation.body_required, "content": operation.raw_body}
    if secured:
        document["security"] = [] if operation.open else [{"bearer": []}]
    return document


@cache
def openapi_document(*, secured: bool) -> Json:
    """The document for this runner: with `secured`, every route but the open ones needs the bearer token."""
    refs, definitions = _schemas()
    components: Json = {"schemas": definitions}
    if secured:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    paths: Json = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, refs, secured)
    return {
        "openapi": "3.1.0",
        "info": {"title": "tekton-runner", "version": __version__,
                 "description": "Source to a running preview app: builds with Tekton, deploys into workspaces."},
        "components": components,
        "paths": paths,
    }
