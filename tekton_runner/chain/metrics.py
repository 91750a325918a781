"""Prometheus metric definitions for every stage; created per registry, recorded by recording.py."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True)
class Metrics:
    stage_total: Counter
    stage_seconds: Histogram
    events_total: Counter
    dispatch_total: Counter
    runs_total: Counter
    chains_active: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        return cls(
            stage_total=Counter(
                "tekton_runner_stage_total", "Stages that ended, by stage and outcome",
                ["stage", "outcome"], registry=registry,
            ),
            stage_seconds=Histogram(
                "tekton_runner_stage_duration_seconds", "Time from a stage's start to its end",
                ["stage", "outcome"], buckets=STAGE_BUCKETS, registry=registry,
            ),
            events_total=Counter(
                "tekton_runner_events_total", "CloudEvents received on the sink, by type and what was done",
                ["type", "action"], registry=registry,
            ),
            dispatch_total=Counter(
                "tekton_runner_dispatch_total", "Build requests sent to the EventListener, by outcome",
                ["outcome"], registry=registry,
            ),
            runs_total=Counter(
                "tekton_runner_runs_total", "Runs that ended, by final state", ["state"], registry=registry,
            ),
            chains_active=Gauge(
                "tekton_runner_chains_active", "Post-build chains running now", registry=registry,
            ),
        )
