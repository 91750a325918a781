"""Prometheus metric definitions for every stage; created per registry, recorded by the status writer (writer.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ...models.runs import RunState, StepName, StepState

STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
# Failure reasons come partly from outside (Tekton's condition reasons): a label keeps at most this many
# distinct values per stage, each a short identifier; the rest are counted as "Other".
MAX_REASONS_PER_STAGE = 25
ERROR_KINDS = ("temporary", "kube", "workspace", "internal")
DISPATCH_QUEUES = ("runner", "eventlistener")
NOTIFY_TARGETS = ("cloudevents", "github")  # the names of chain/status/notifying.py's targets
_REASON = re.compile(r"^[A-Za-z][A-Za-z0-9:]{0,47}$")


@dataclass(frozen=True)
class Metrics:
    stage_total: Counter
    stage_seconds: Histogram
    events_total: Counter
    dispatch_total: Counter
    dispatch_queue: Gauge
    runs_total: Counter
    chains_active: Gauge
    failures_total: Counter
    step_errors_total: Counter
    resync_total: Counter
    restores_total: Counter
    resync_last_success: Gauge
    notifications_total: Counter
    _reasons: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)

    def failed(self, stage: str, reason: str) -> None:
        """Counts a failed stage under its reason, keeping the reason label to a bounded set."""
        seen = self._reasons.setdefault(stage, set())
        if reason not in seen:
            if len(seen) >= MAX_REASONS_PER_STAGE or not _REASON.match(reason):
                reason = "Other"
            else:
                seen.add(reason)
        self.failures_total.labels(stage, reason).inc()

    def resynced(self, *, complete: bool, at: float) -> None:
        """One pass of the resync: complete when the cluster could be read; `at` is the wall-clock time."""
        self.resync_total.labels("succeeded" if complete else "failed").inc()
        if complete:
            self.resync_last_success.set(at)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        metrics = cls._define(registry)
        metrics._initialise()
        return metrics

    def _initialise(self) -> None:
        """Every series of the fixed label sets exists from the start at zero: Prometheus sees the first
        failure as an increase (a series born at 1 counts as no change) and panels show 0, not "no data"."""
        ended = (StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED)
        for stage in StepName:
            for outcome in ended:
                self.stage_total.labels(stage.value, outcome.value)
                self.stage_seconds.labels(stage.value, outcome.value)
        for stage in StepName:
            for kind in ERROR_KINDS:
                self.step_errors_total.labels(stage.value, kind)
        for state in (RunState.SUCCEEDED, RunState.FAILED):
            self.runs_total.labels(state.value)
        for dispatched in ("accepted", "retry", "failed"):
            self.dispatch_total.labels(dispatched)
        for where in DISPATCH_QUEUES:
            self.dispatch_queue.labels(where)
        for resynced in ("succeeded", "failed"):
            self.resync_total.labels(resynced)
        for target in NOTIFY_TARGETS:
            for delivery in ("delivered", "retried", "dropped"):
                self.notifications_total.labels(target, delivery)

    @classmethod
    def _define(cls, registry: CollectorRegistry) -> Metrics:
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
            dispatch_queue=Gauge(
                "tekton_runner_dispatch_queue",
                "Build requests waiting: in the runner (not sent yet) or at the EventListener (no TaskRun yet)",
                ["where"], registry=registry,
            ),
            runs_total=Counter(
                "tekton_runner_runs_total", "Runs that ended, by final state", ["state"], registry=registry,
            ),
            chains_active=Gauge(
                "tekton_runner_chains_active", "Post-build chains running now", registry=registry,
            ),
            failures_total=Counter(
                "tekton_runner_stage_failures_total", "Stages that failed, by stage and reason",
                ["stage", "reason"], registry=registry,
            ),
            step_errors_total=Counter(
                "tekton_runner_step_errors_total",
                "Errors raised inside steps, by stage and kind (temporary, kube, workspace, internal)",
                ["stage", "kind"], registry=registry,
            ),
            resync_total=Counter(
                "tekton_runner_resync_total", "Resync passes, by outcome (failed: the cluster could not be read)",
                ["outcome"], registry=registry,
            ),
            restores_total=Counter(
                "tekton_runner_restores_total",
                "Live apps whose Deployment was gone and whose objects the resync applied again", registry=registry,
            ),
            resync_last_success=Gauge(
                "tekton_runner_resync_last_success_timestamp_seconds",
                "When the last complete resync pass ended (Unix time)", registry=registry,
            ),
            notifications_total=Counter(
                "tekton_runner_notifications_total",
                "Outgoing notifications by target (cloudevents, github) and outcome (delivered, retried, dropped)",
                ["target", "outcome"], registry=registry,
            ),
        )
