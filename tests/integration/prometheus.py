"""Debian's Prometheus for tests: started on the repository's alert rules, scraping runners every second
(targets in a file it watches, so replicas can come and go), queried through its HTTP API; and the
dashboard's panel queries and the rules as the tests evaluate them."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml

from tests.integration.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "tekton-runner.json"
RULES = ROOT / "deploy" / "prometheus" / "tekton-runner-rules.yaml"
RULE_TESTS = RULES.with_suffix(".test.yaml")
JOB = "tekton-runner"
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
    """Polls a condition in Prometheus (0.05 s apart, by default at most 30 s) until it holds."""
    for _ in range(attempts):
        if (value := await probe()) is not None:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"Prometheus never showed {what}")


def instance(runner: Harness) -> str:
    """The `instance` label Prometheus gives the runner's target."""
    url = runner.http.make_url("/metrics")
    return f"{url.host}:{url.port}"


class Prometheus:
    def __init__(self, url: str, session: aiohttp.ClientSession, targets: Path) -> None:
        self.url, self.session, self._targets = url, session, targets

    def scrape(self, *instances: str) -> None:
        """Makes these runners (`instance`) the job's targets (the file is replaced whole: Prometheus never
        reads half of it)."""
        staged = self._targets.with_suffix(".staged")
        staged.write_text(json.dumps([{"targets": list(instances)}]))
        staged.replace(self._targets)

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/api/v1/query", params={"query": expr}) as response:
            body = await response.json()
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def series(self, expr: str) -> list[dict[str, Any]] | None:
        return await self.query(expr) or None

    async def by_instance(self, expr: str) -> dict[str, float]:
        return {sample["metric"]["instance"]: float(sample["value"][1]) for sample in await self.query(expr)}

    async def rules(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/api/v1/rules") as response:
            body = await response.json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    async def alert(self, name: str) -> dict[str, Any]:
        (rule,) = [rule for rule in await self.rules() if rule["name"] == name]
        return rule


@asynccontextmanager
async def running_prometheus(tmp_path: Path) -> AsyncIterator[Prometheus]:
    """Prometheus evaluating the rules every second and scraping the runners `scrape` names every second."""
    targets = tmp_path / "prometheus-targets.json"
    targets.write_text("[]")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": JOB, "file_sd_configs": [{"files": [str(targets)]}]}],
    }))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
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
            yield Prometheus(f"http://127.0.0.1:{port}", session, targets)
    finally:
        process.terminate()
        await process.wait()
        log.close()


def panel_queries() -> list[tuple[str, str]]:
    """(title, query) of every panel target, with Grafana's interval variable filled in."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL))
            for panel in dashboard["panels"] for target in panel["targets"]]


def panel_query(title: str) -> str:
    (expr,) = [expr for panel, expr in panel_queries() if panel == title]
    return expr


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def rules_of(group: str) -> list[dict[str, Any]]:
    (rules,) = [found["rules"] for found in rule_groups() if found["name"] == group]
    return list(rules)
