"""The Grafana dashboard and the alert rules work on real data: Debian's Prometheus scrapes a runner that
has done runs (a success, a failed build, a failed migration, a resync), promtool accepts the rules, and every
panel query, every recorded series and both sides of every alert return series through Prometheus' HTTP API."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yaml

from tests.integration.harness import Harness, spec

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "tekton-runner.json"
RULES = ROOT / "deploy" / "prometheus" / "tekton-runner-rules.yaml"
RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval becomes for a 1 s scrape interval
T = TypeVar("T")


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: bash scripts/test-tools.sh installs Debian's prometheus package"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def until(what: str, probe: Callable[[], Awaitable[T | None]], attempts: int = 600) -> T:
    """Polls a condition in Prometheus (0.05 s apart, at most 30 s) until it holds."""
    for _ in range(attempts):
        if (value := await probe()) is not None:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"Prometheus never showed {what}")


class Prometheus:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/api/v1/query", params={"query": expr}) as response:
            body = await response.json()
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def series(self, expr: str) -> list[dict[str, Any]] | None:
        return await self.query(expr) or None

    async def rules(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/api/v1/rules") as response:
            body = await response.json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]


@pytest.fixture
async def prometheus(harness: Harness, tmp_path: Path) -> AsyncIterator[Prometheus]:
    """Prometheus scraping the harness runner every second, evaluating the rules every second."""
    target = harness.http.make_url("/metrics")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "tekton-runner", "metrics_path": target.path,
                            "static_configs": [{"targets": [f"{target.host}:{target.port}"]}]}],
    }))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", stdout=log, stderr=subprocess.STDOUT)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async def ready() -> bool | None:
                assert process.returncode is None, (tmp_path / "prometheus.log").read_text()[-3000:]
                try:
                    async with session.get(f"http://127.0.0.1:{port}/-/ready") as response:
                        return True if response.status == 200 else None
                except aiohttp.ClientConnectionError:
                    return None
            await until("itself ready", ready)
            yield Prometheus(f"http://127.0.0.1:{port}", session)
    finally:
        process.terminate()
        await process.wait()
        log.close()


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL))
            for panel in dashboard["panels"] for target in panel["targets"]]


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run([tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True,
                          check=False)
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
        assert await prometheus.query(expr), f"panel {title!r} returns no series: {expr}"
    failures = await prometheus.query("sum by (stage, reason) (tekton_runner_stage_failures_total)")
    assert {(s["metric"]["stage"], s["metric"]["reason"]) for s in failures} == {
        ("build", "Failed"), ("migration", "MigrationFailed")}
    # A counter that existed before the scrape moved, so the rate panels show real change, not only zeros.
    assert await prometheus.query(f'increase(tekton_runner_dispatch_total{{outcome="accepted"}}[{RATE_INTERVAL}]) > 0')

    records = [rule for group in rule_groups() for rule in group["rules"] if "record" in rule]
    for name in (str(rule["record"]) for rule in records):
        await until(f"the recorded series {name}", lambda name=name: prometheus.series(name))  # type: ignore[misc]
    for rule in (rule for group in rule_groups() for rule in group["rules"] if "alert" in rule):
        signal, _, threshold = re.split(r"\s([<>]=?|==)\s", rule["expr"], maxsplit=1)
        assert await prometheus.query(signal), f"alert {rule['alert']}: {signal} returns no series"
        if not re.fullmatch(r"[0-9.]+", threshold.strip()):
            assert await prometheus.query(threshold), f"alert {rule['alert']}: {threshold} returns no series"
        await prometheus.query(rule["expr"])  # the whole expression evaluates without an error

    async def evaluated() -> list[dict[str, Any]] | None:
        rules = await prometheus.rules()
        done = [rule for rule in rules if not rule["lastEvaluation"].startswith("0001")]
        return rules if len(done) == len(rules) == len(records) + 4 else None
    for rule in await until("every rule evaluated", evaluated):
        assert rule["health"] == "ok", rule
    build_failures = await prometheus.query("tekton_runner:build_failure_ratio:rate30m")
    assert 0 < float(build_failures[0]["value"][1]) < 1  # one of two builds failed
