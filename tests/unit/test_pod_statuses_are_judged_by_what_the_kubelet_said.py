"""What a pod's status says about why it is not ready: crash loops after the second exit, permanent and
transient image pull failures told apart by the kubelet's words, other waiting reasons shown."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tekton_runner.chain.status.metrics import MAX_REASONS_PER_STAGE, Metrics
from tekton_runner.models.pods import MAX_QUOTED, PodView, Problem, pod_trouble, quoted, unresolved_host

IMAGE = "lenovo:8443/library/demo-shop@sha256:" + "ab" * 32


def pod(*statuses: dict[str, Any], conditions: list[dict[str, Any]] | None = None) -> PodView:
    return PodView.model_validate({"metadata": {"name": "shop-1"}, "status": {
        "conditions": conditions or [],
        "containerStatuses": [{"name": "app", "image": IMAGE, "ready": False, **status} for status in statuses]}})


def pulling(reason: str, message: str) -> PodView:
    return pod({"state": {"waiting": {"reason": reason, "message": message}}})


def exited(restarts: int, *, waiting: bool = True, code: int = 1) -> PodView:
    ended = {"exitCode": code, "reason": "Error"}
    state = {"waiting": {"reason": "CrashLoopBackOff"}} if waiting else {"running": {}}
    return pod({"restartCount": restarts, "state": state, "lastState": {"terminated": ended}})


def test_a_second_exit_is_a_crash_loop_and_the_first_is_waited_out() -> None:
    first, second = pod_trouble(exited(0)), pod_trouble(exited(1))
    assert first is not None and first.problem is Problem.CONTAINER_EXITED and not first.permanent
    assert second is not None and second.problem is Problem.CRASH_LOOPING and second.permanent
    assert "exited 2 times, last with exit code 1 (Error)" in second.summary
    assert second.previous_log and not second.current_log


def test_a_restarted_container_running_again_after_two_exits_is_crash_looping() -> None:
    trouble = pod_trouble(exited(2, waiting=False))
    assert trouble is not None and trouble.problem is Problem.CRASH_LOOPING and trouble.previous_log


def test_a_ready_container_with_old_restarts_is_fine() -> None:
    ready = PodView.model_validate({"metadata": {"name": "redis-1"}, "status": {"containerStatuses": [
        {"name": "redis", "ready": True, "restartCount": 7, "state": {"running": {}},
         "lastState": {"terminated": {"exitCode": 137}}}]}})
    assert pod_trouble(ready) is None


@pytest.mark.parametrize(("message", "problem"), [
    ('failed to do request: Head "https://lenovo:8443/v2/x": dial tcp: lookup lenovo on 10.0.0.2:53: no such host',
     Problem.IMAGE_HOST_UNRESOLVABLE),
    ("dial tcp: lookup lenovo: no such host", Problem.IMAGE_HOST_UNRESOLVABLE),
    ("failed to fetch oauth token: unexpected status: 401 Unauthorized", Problem.IMAGE_PULL_UNAUTHORIZED),
    ("pull access denied, repository does not exist or may require authorization", Problem.IMAGE_PULL_UNAUTHORIZED),
    (f'failed to resolve reference "{IMAGE}": {IMAGE}: not found', Problem.IMAGE_NOT_FOUND),
    ("x509: certificate signed by unknown authority", Problem.IMAGE_REGISTRY_UNTRUSTED),
    ("http: server gave HTTP response to HTTPS client", Problem.IMAGE_REGISTRY_UNTRUSTED),
])
def test_permanent_pull_failures_are_told_by_the_kubelets_words(message: str, problem: Problem) -> None:
    trouble = pod_trouble(pulling("ErrImagePull", f"rpc error: code = Unknown desc = {message}"))
    assert trouble is not None and trouble.problem is problem and trouble.permanent


@pytest.mark.parametrize("message", [
    "dial tcp 10.0.0.9:443: i/o timeout",
    "dial tcp 10.0.0.9:443: connect: connection refused",
    "net/http: TLS handshake timeout",
    "lookup lenovo on 10.0.0.2:53: server misbehaving",  # the DNS server failed; it may answer next time
    "unexpected status from HEAD request: 503 Service Unavailable",
])
def test_other_pull_failures_are_transient_and_waited_for(message: str) -> None:
    trouble = pod_trouble(pulling("ImagePullBackOff", f'Back-off pulling image "{IMAGE}": ErrImagePull: {message}'))
    assert trouble is not None and trouble.problem is Problem.IMAGE_PULL_FAILING and not trouble.permanent
    assert message in trouble.summary


def test_an_unresolvable_host_is_named_from_the_lookup_not_the_image() -> None:
    # A registry mirror or token service on another host: the name that failed is the one to fix.
    assert unresolved_host("Get \"https://auth.lenovo/token\": dial tcp: lookup auth.lenovo on 1.1.1.1:53: "
                           "no such host") == "auth.lenovo"
    trouble = pod_trouble(pulling("ErrImagePull", "dial tcp: lookup mirror.local: no such host"))
    assert trouble is not None and "cannot resolve the registry host 'mirror.local'" in trouble.summary


def test_an_invalid_image_name_is_permanent() -> None:
    trouble = pod_trouble(pulling("InvalidImageName", 'Failed to apply default image tag "Shop:1": invalid'))
    assert trouble is not None and trouble.problem is Problem.INVALID_IMAGE and trouble.permanent


def test_config_errors_and_unschedulable_pods_are_shown_while_waiting() -> None:
    config = pod_trouble(pulling("CreateContainerConfigError", "couldn't find key PASSWORD in Secret ws-demo/x"))
    assert config is not None and config.problem is Problem.CONTAINER_CONFIG and not config.permanent
    assert "cannot start: CreateContainerConfigError: couldn't find key PASSWORD" in config.summary
    pending = pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                               "message": "0/1 nodes are available: 1 Insufficient memory."}])
    unscheduled = pod_trouble(pending)
    assert unscheduled is not None and unscheduled.problem is Problem.UNSCHEDULABLE
    assert "Insufficient memory" in unscheduled.summary


def test_a_container_still_being_created_says_nothing() -> None:
    assert pod_trouble(pulling("ContainerCreating", "")) is None


def test_a_permanent_trouble_wins_over_a_transient_one_in_the_same_pod() -> None:
    both = pod({"state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret missing"}}},
               {"name": "sidecar", "state": {"waiting": {"reason": "ErrImagePull",
                                                         "message": "lookup x: no such host"}}})
    trouble = pod_trouble(both)
    assert trouble is not None and trouble.problem is Problem.IMAGE_HOST_UNRESOLVABLE


def test_quoted_keeps_the_start_and_the_cause_at_the_end_within_the_bound() -> None:
    long = "failed to pull " + "x" * 5000 + " lookup lenovo: no such host"
    text = quoted(long)
    assert len(text) <= MAX_QUOTED + 3 and text.startswith("failed to pull") and text.endswith("no such host")


def test_every_failure_reason_a_pod_can_give_is_counted_under_its_own_bounded_label() -> None:
    metrics = Metrics.create(CollectorRegistry())
    for stage, subject in (("app", "App"), ("dependency", "Dependency"), ("migration", "Migration")):
        for problem in Problem:
            metrics.failed(stage, f"{subject}{problem.value}")
    counted = {sample.labels["reason"] for metric in metrics.failures_total.collect() for sample in metric.samples
               if sample.name.endswith("_total")}
    assert "Other" not in counted
    assert len(counted) == 3 * len(Problem) and len(Problem) < MAX_REASONS_PER_STAGE
