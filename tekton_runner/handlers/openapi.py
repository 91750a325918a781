"""The OpenAPI document, with request schemas generated from the pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from .. import __version__
from ..models.apps import AppRegistration
from ..models.runs import Endpoint, Step
from ..models.spec import RunSpec

_ERROR = {"$ref": "#/components/schemas/Error"}


def _response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed JSON", 401: "Missing or wrong bearer token", 404: "Not found", 409: "Conflict",
            413: "Body too large", 415: "Wrong Content-Type", 422: "Invalid fields (each named with its reason)"}
    return {str(code): _response(text[code], _ERROR) for code in codes}


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(RunSpec, "validation"), (AppRegistration, "validation"), (Step, "serialization"),
         (Endpoint, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    components = dict(schemas.get("$defs", {}))
    components["Error"] = {
        "type": "object", "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                       "fields": {"type": "array", "items": {"type": "object", "properties": {
                           "field": {"type": "string"}, "reason": {"type": "string"}}}}},
    }
    run_ref = {"type": "object", "description": "A run: state, reason, steps, image, digest and endpoint"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "tekton-runner", "version": __version__},
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/run": {"post": {
                "summary": "Start a run: build with Tekton, then deploy into ws-<workspace>",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RunSpec"}}}},
                "responses": {"202": _response("Stored and handed to Tekton", run_ref),
                              **_errors(400, 401, 409, 413, 415, 422)},
            }},
            "/runs": {"get": {"summary": "List runs", "responses": {"200": _response("Runs"), **_errors(401, 422)}}},
            "/runs/{run_id}": {
                "get": {"summary": "One run with its steps", "responses": {"200": _response("The run", run_ref),
                                                                           **_errors(401, 404)}},
                "delete": {"summary": "Tear the run's objects down", "responses": {
                    "200": _response("The deleted run", run_ref), **_errors(401, 404)}},
            },
            "/sources": {"post": {
                "summary": "Upload a zip source; returns an upload_id for source.type=zip",
                "requestBody": {"required": True, "content": {"application/zip": {
                    "schema": {"type": "string", "format": "binary"}}}},
                "responses": {"201": _response("Stored"), **_errors(401, 413, 415, 422)},
            }},
            "/cloudevents": {"post": {"summary": "Tekton's CloudEvents sink (binary mode)", "security": [],
                                      "responses": {"202": _response("Recorded"), "200": _response("Duplicate"),
                                                    **_errors(400)}}},
            "/endpoint": {"get": {"summary": "Where an app answers, and whether it does now",
                                  "responses": {"200": _response("Addresses"), **_errors(401, 404, 422)}}},
            "/external-map": {"get": {"summary": "Every external port mapping with its traffic",
                                      "responses": {"200": _response("Mappings"), **_errors(401)}}},
            "/apps": {
                "post": {"summary": "Register an app: every push to its branch is built and deployed",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/AppRegistration"}}}},
                         "responses": {"201": _response("Registered"), "200": _response("Registration replaced"),
                                       "502": _response("The webhook Trigger could not be applied", _ERROR),
                                       **_errors(400, 401, 409, 413, 415, 422)}},
                "get": {"summary": "Registered apps", "responses": {"200": _response("Apps"), **_errors(401)}},
            },
            "/apps/{app_id}": {
                "get": {"responses": {"200": _response("The app"), **_errors(401, 404)}},
                "delete": {"summary": "Delete the app's Trigger and registration",
                           "responses": {"200": _response("Deleted"), **_errors(401, 404)}},
            },
            "/workspaces": {"get": {"summary": "Managed workspaces", "responses": {"200": _response("Workspaces"),
                                                                                  **_errors(401)}}},
            "/workspaces/{name}": {"delete": {"summary": "Remove a workspace with its runs' objects and ports",
                                              "responses": {"200": _response("Removed"), **_errors(401, 404)}}},
            "/healthz": {"get": {"security": [], "responses": {"200": _response("Alive")}}},
            "/readyz": {"get": {"security": [], "responses": {"200": _response("Ready"),
                                                               "503": _response("Not ready")}}},
            "/metrics": {"get": {"security": [], "responses": {"200": _response("Prometheus text format")}}},
        },
    }
