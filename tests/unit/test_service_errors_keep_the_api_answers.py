"""Each typed error of the service layer is answered with the status, `error` and `fields` the API always sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tekton_runner.handlers.failures import problem_for
from tekton_runner.service.errors import (
    AppNotFound,
    ArchiveLinkUnknown,
    IdempotencyKeyReused,
    InvalidField,
    NoEndpoint,
    PortTaken,
    RunNotFound,
    ServiceError,
    TooLarge,
    TriggerNotApplied,
    TriggerNotDeleted,
    WorkspaceNotFound,
)


@pytest.mark.parametrize(("error", "status", "body"), [
    (RunNotFound("r-1"), 404, {"error": "not_found", "message": "no run 'r-1'"}),
    (AppNotFound("a-1"), 404, {"error": "not_found", "message": "no app 'a-1'"}),
    (WorkspaceNotFound("never"), 404, {"error": "not_found", "message": "no workspace 'never'"}),
    (NoEndpoint("demo", "shop"), 404, {"error": "not_found", "message": "demo/shop has no deployed endpoint"}),
    (ArchiveLinkUnknown(), 404, {"error": "not_found", "message": "unknown or already used archive link"}),
    (InvalidField("source.path", "must be a directory"), 422, {
        "error": "invalid", "message": "source.path: must be a directory",
        "fields": [{"field": "source.path", "reason": "must be a directory"}]}),
    (PortTaken(18739, "other/blog"), 409, {
        "error": "port_taken", "message": "external port 18739 is already mapped to other/blog",
        "fields": [{"field": "expose.external_port", "reason": "taken by other/blog"}]}),
    (PortTaken(18740, None), 409, {
        "error": "port_taken", "message": "external port 18740 is held by another process on this host",
        "fields": [{"field": "expose.external_port", "reason": "held by another process"}]}),
    (IdempotencyKeyReused("r-1"), 409, {
        "error": "idempotency_key_reused",
        "message": "Idempotency-Key was used for run r-1 with a different request"}),
    (TooLarge("the zip", 1024), 413, {"error": "too_large", "message": "the zip is larger than 1024 bytes"}),
    (TriggerNotApplied("forbidden"), 502, {
        "error": "trigger_not_applied", "message": "the webhook Trigger could not be applied: forbidden"}),
    (TriggerNotDeleted("timed out"), 502, {
        "error": "trigger_not_deleted", "message": "the webhook Trigger could not be deleted: timed out"}),
])
def test_each_error_keeps_its_answer(error: ServiceError, status: int, body: dict[str, Any]) -> None:
    response = problem_for(error)
    assert response.status == status
    assert response.text is not None and json.loads(response.text) == body


def test_an_error_without_a_defined_answer_is_an_internal_error_without_detail() -> None:
    response = problem_for(ServiceError("secret detail"))
    assert response.status == 500 and response.text is not None and "secret detail" not in response.text
