"""The Grafana dashboard and the alert rules work on real data: Debian's Prometheus scrapes a runner that
has done runs (a success, a failed build, a failed migration, a resync), promtool accepts the rules, and every
panel query, every recorded series and both sides of every alert return series through Prometheus' HTTP API."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import Harness, spec
from tests.integration.prometheus import (
    RATE_INTERVAL,
    RULE_TESTS,
    RULES,
    Prometheus,
    instance,
    panel_queries,
    rule_groups,
    running_prometheus,
    tool,
    until,
)

# No relay runs without leader election, so one runner exports no listening gauge: what reads it is
# evaluated on replicas (test_leadership_panels_and_alerts_follow_replicas_in_a_real_prometheus.py).
REPLICAS_ONLY = "tekton_runner_progress_listening"


@pytest.fixture
async def prometheus(harness: Harness, tmp_path: Path) -> AsyncIterator[Prometheus]:
    """Prometheus scraping the harness runner every second, evaluating the rules every second."""
    async with running_prometheus(tmp_path) as prometheus:
        prometheus.scrape(instance(harness))
        yield prometheus


def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run([tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rule_tests_pass() -> None:
    """The alerts' timing on series written out by hand (deploy/prometheus/tekton-runner-rules.test.yaml):
    a handover does not fire them, a minute without a leader, 30 s of two and 5 minutes not listening do."""
    done = subprocess.run([tool("promtool"), "test", "rules", RULE_TESTS.name], capture_output=True, text=True,
                          check=False, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


async def _runs_of_every_kind(harness: Harness) -> None:
    await harness.run_to_success(spec())
    failed = (await harness.post_run(spec(app={"name": "cart", "port": 8080})))["run_id"]
    response = await harness.send_event(harness.finish_taskrun(failed, succeeded=False), "failed")
    assert response.status == 202
    broken = (await harness.post_run(spec(app={"name": "blog", "port": 8080})))["run_id"]
    harness.controllers.failing_jobs.add(f"blog-migrate-{broken[2:10]}")
    await harness.send_event(harness.finish_taskrun(broken), "successful")
    await harness.settle()
    assert [(await harness.run(run))["state"] for run in (failed, broken)] == ["failed", "failed"]


async def test_every_panel_and_rule_returns_series_from_a_runner_that_did_runs(
    harness: Harness, prometheus: Prometheus
) -> None:
    await harness.run_to_success(spec(app={"name": "first", "port": 8080}))
    await until("a first scrape of the runner", lambda: prometheus.series('up{job="tekton-runner"} == 1'))
    await _runs_of_every_kind(harness)  # after the first scrape, so rates see the counters move
    orchestrator = harness.orchestrator
    orchestrator.scheduler.spawn("resync", lambda: orchestrator.resync_forever(3600), limited=False, daemon=True)
    # Rates need two samples of a series: wait for the second scrape of the (new) failure series, and for
    # a complete resync (its other series exist from the start).
    await until("two scrapes of both failures and a complete resync", lambda: prometheus.series(
        'count(count_over_time(tekton_runner_stage_failures_total[1m]) >= 2) == 2'
        ' and on() tekton_runner_resync_last_success_timestamp_seconds > 0'))

    for title, expr in panel_queries():
        if REPLICAS_ONLY not in expr:
            assert await prometheus.query(expr), f"panel {title!r} returns no series: {expr}"
    failures = await prometheus.query("sum by (stage, reason) (tekton_runner_stage_failures_total)")
    assert {(s["metric"]["stage"], s["metric"]["reason"]) for s in failures} == {
        ("build", "Failed"), ("migration", "MigrationFailed")}
    # A counter that existed before the scrape moved, so the rate panels show real change, not only zeros.
    assert await prometheus.query(f'increase(tekton_runner_dispatch_total{{outcome="accepted"}}[{RATE_INTERVAL}]) > 0')

    records = [rule for group in rule_groups() for rule in group["rules"] if "record" in rule]
    for name in (str(rule["record"]) for rule in records):
        await until(f"the recorded series {name}", lambda name=name: prometheus.series(name))  # type: ignore[misc]
    alerts = [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]
    for rule in (rule for rule in alerts if REPLICAS_ONLY not in rule["expr"]):
        signal, _, threshold = re.split(r"\s([<>]=?|==)\s", rule["expr"], maxsplit=1)
        assert await prometheus.query(signal), f"alert {rule['alert']}: {signal} returns no series"
        if not re.fullmatch(r"[0-9.]+", threshold.strip()):
            assert await prometheus.query(threshold), f"alert {rule['alert']}: {threshold} returns no series"
        await prometheus.query(rule["expr"])  # the whole expression evaluates without an error

    async def evaluated() -> list[dict[str, Any]] | None:
        rules = await prometheus.rules()
        done = [rule for rule in rules if not rule["lastEvaluation"].startswith("0001")]
        return rules if len(done) == len(rules) == len(records) + len(alerts) else None
    for rule in await until("every rule evaluated", evaluated):
        assert rule["health"] == "ok", rule
    build_failures = await prometheus.query("tekton_runner:build_failure_ratio:rate30m")
    assert 0 < float(build_failures[0]["value"][1]) < 1  # one of two builds failed
    (leaders,) = await prometheus.query("tekton_runner:leaders:sum")
    assert (leaders["metric"]["job"], leaders["value"][1]) == ("tekton-runner", "1")  # election off: it leads
