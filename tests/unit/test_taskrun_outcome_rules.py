"""How the runner reads a TaskRun: terminal states, results in either version's field, the event's key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tekton_runner.handlers.events import parse_event
from tekton_runner.models.images import ImageReference
from tekton_runner.models.taskruns import Outcome, TaskRunEvent, TaskRunView
from tekton_runner.service.events import dedup_key

DIGEST = "sha256:" + "0f" * 32


def taskrun(status: str | None, *, completion: str | None = None, results_field: str = "results",
            digest: str = DIGEST, reason: str = "") -> dict[str, Any]:
    conditions = [] if status is None else [{"type": "Succeeded", "status": status, "reason": reason}]
    body: dict[str, Any] = {"conditions": conditions, results_field: [{"name": "IMAGE_DIGEST", "value": digest}]}
    if completion:
        body["completionTime"] = completion
    return {"metadata": {"name": "build-r-1", "uid": "u1", "labels": {"tekton-runner.io/run-id": "r-1"}},
            "status": body}


@pytest.mark.parametrize(("status", "completion", "outcome"), [
    (None, None, Outcome.RUNNING),
    ("Unknown", None, Outcome.RUNNING),
    ("True", "2026-11-26T10:00:00Z", Outcome.SUCCEEDED),
    ("False", None, Outcome.RUNNING),  # a non-permanent error: Tekton may still recover
    ("False", "2026-11-26T10:00:00Z", Outcome.FAILED),
])
def test_outcome_is_terminal_only_when_tekton_says_so(status: str | None, completion: str | None,
                                                      outcome: Outcome) -> None:
    assert TaskRunView.model_validate(taskrun(status, completion=completion)).outcome is outcome


@pytest.mark.parametrize("field", ["results", "taskResults"])
def test_digest_is_read_from_either_results_field(field: str) -> None:
    assert TaskRunView.model_validate(taskrun("True", results_field=field)).digest == DIGEST


@pytest.mark.parametrize("value", ["", "latest", "sha256:short", "md5:" + "0" * 64])
def test_malformed_digest_is_ignored(value: str) -> None:
    assert TaskRunView.model_validate(taskrun("True", digest=value)).digest is None


def test_failed_events_with_and_without_completion_are_different_keys() -> None:
    early = TaskRunEvent(id="a", type="dev.tekton.event.taskrun.failed.v1",
                         taskrun=TaskRunView.model_validate(taskrun("False", reason="Retrying")))
    final = TaskRunEvent(id="b", type="dev.tekton.event.taskrun.failed.v1", taskrun=TaskRunView.model_validate(
        taskrun("False", completion="2026-11-26T10:00:00Z", reason="Failed")))
    resend = final.model_copy(update={"id": "c"})
    assert dedup_key(early) != dedup_key(final)
    assert dedup_key(final) == dedup_key(resend)


def test_binary_event_is_parsed_from_headers_and_body() -> None:
    headers = {"ce-id": "x1", "ce-specversion": "1.0", "ce-source": "/apis///namespaces/ns//build-r-1",
               "ce-type": "dev.tekton.event.taskrun.successful.v1", "content-type": "application/json"}
    event = parse_event(headers, json.dumps({"taskRun": taskrun("True")}).encode())
    assert isinstance(event, TaskRunEvent) and event.kind == "successful" and event.taskrun.run_id == "r-1"


def test_pipelinerun_event_is_not_a_taskrun_event() -> None:
    headers = {"ce-id": "x1", "ce-specversion": "1.0", "ce-source": "s",
               "ce-type": "dev.tekton.event.pipelinerun.successful.v1", "content-type": "application/json"}
    assert parse_event(headers, b'{"pipelineRun": {}}') is None


@pytest.mark.parametrize(("reference", "repository"), [
    ("harbor.local/library/shop:v1", "harbor.local/library/shop"),
    ("lenovo:8443/library/shop:r-1", "lenovo:8443/library/shop"),
    ("lenovo:8443/library/shop", "lenovo:8443/library/shop"),
    ("shop@sha256:" + "1" * 64, "shop"),
])
def test_image_repository_keeps_the_registry_port(reference: str, repository: str) -> None:
    assert ImageReference.parse(reference).name == repository
