"""Failures are counted by stage and reason with a bounded reason label; resync passes by outcome with the
time of the last complete one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tekton_runner.chain.status.metrics import MAX_REASONS_PER_STAGE, Metrics


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_failures_are_counted_by_stage_and_reason() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.failed("migration", "MigrationFailed")
    metrics.failed("migration", "MigrationFailed")
    metrics.failed("build", "TaskRunTimeout")
    assert sample(registry, "tekton_runner_stage_failures_total", stage="migration", reason="MigrationFailed") == 2
    assert sample(registry, "tekton_runner_stage_failures_total", stage="build", reason="TaskRunTimeout") == 1


def test_reasons_from_outside_cannot_grow_the_label_without_bound() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    for index in range(MAX_REASONS_PER_STAGE + 10):
        metrics.failed("build", f"Reason{index}")
    metrics.failed("build", "has spaces and {braces}")
    metrics.failed("build", "Reason0")  # one already known keeps its own value
    reasons = {s.labels["reason"] for m in registry.collect() if m.name == "tekton_runner_stage_failures"
               for s in m.samples if s.name.endswith("_total")}
    assert len(reasons) == MAX_REASONS_PER_STAGE + 1 and "Other" in reasons
    assert sample(registry, "tekton_runner_stage_failures_total", stage="build", reason="Other") == 11
    assert sample(registry, "tekton_runner_stage_failures_total", stage="build", reason="Reason0") == 2


def test_resync_passes_are_counted_and_the_last_complete_one_is_timed() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.resynced(complete=True, at=1_000.0)
    metrics.resynced(complete=False, at=1_030.0)
    assert sample(registry, "tekton_runner_resync_total", outcome="succeeded") == 1
    assert sample(registry, "tekton_runner_resync_total", outcome="failed") == 1
    assert sample(registry, "tekton_runner_resync_last_success_timestamp_seconds") == 1_000.0
