"""deploy/grafana/tekton-runner.json is a dashboard Grafana can import as it is: the fields an import needs,
nothing Grafana's schema would drop, panels that do not overlap on the 24-column grid, targets on the
templated Prometheus data source; and it shows every metric the runner exports (a new metric without a
panel fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry

from tekton_runner.chain.runtime.leadership import Leadership
from tekton_runner.chain.runtime.scheduler import Scheduler
from tekton_runner.chain.status.hub import ProgressHub
from tekton_runner.chain.status.metrics import Metrics
from tekton_runner.chain.status.relaying import Relay
from tekton_runner.forwarding.metrics import register_metrics
from tekton_runner.store.database import Database
from tekton_runner.store.progress_feed import ProgressFeed

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "tekton-runner.json"
RULES = DASHBOARD.parents[1] / "prometheus" / "tekton-runner-rules.yaml"
PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_the_dashboard_has_what_an_import_needs() -> None:
    board = dashboard()
    assert {"uid", "title", "panels", "schemaVersion", "templating", "time", "version"} <= set(board)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"]) and isinstance(board["schemaVersion"], int)
    assert "id" not in board or board["id"] is None  # an id ties the JSON to one Grafana's database
    (variable,) = board["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == ("datasource", "datasource", "prometheus")


def test_panels_are_distinct_typed_and_laid_out_without_overlap() -> None:
    panels = dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in PANEL_TYPES and panel["title"] and panel["description"], panel["title"]
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and grid["x"] + grid["w"] <= 24 and min(grid.values()) >= 0
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells
        assert panel["datasource"] == DATASOURCE
        refs = [target["refId"] for target in panel["targets"]]
        assert panel["targets"] and len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE and target["expr"].strip()
            assert target["expr"].count("(") == target["expr"].count(")")


def test_every_metric_the_runner_exports_has_a_panel() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry)
    register_metrics(lambda: [], registry=registry)
    Leadership(Scheduler(limit=1), elected=True, registry=registry)
    # built only for the gauge it registers (on PostgreSQL); it never reads the feed here
    Relay(ProgressFeed(cast(Database, None)), ProgressHub(), interval=1.0, notifies=True, registry=registry)
    exported = {metric.name for metric in registry.collect()}
    exprs = " ".join(target["expr"] for panel in dashboard()["panels"] for target in panel["targets"])
    shown = {name for name in exported if re.search(rf"\b{name}(_total|_bucket|_seconds)?\b", exprs)}
    assert exported - shown == set(), "metrics without a panel"
    used = set(re.findall(r"\btekton_runner_[a-z_]+", exprs + RULES.read_text()))
    samples = {f"{name}{suffix}" for name in exported for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    assert used <= samples, f"queries name metrics the runner does not export: {used - samples}"


def schema_round_trip(data: dict[str, Any]) -> list[str]:
    """What Grafana's schema (the foundation SDK's generated types, panel plugins included) would not keep:
    fields it drops as unknown and values it changes. Defaults it adds are fine."""
    from grafana_foundation_sdk.cog import plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    plugins.register_default_plugins()
    decoded = json.loads(json.dumps(Dashboard.from_json(data).to_json(),
                                    default=lambda value: value.to_json()))
    problems: list[str] = []

    def compare(ours: Any, theirs: Any, path: str) -> None:
        if isinstance(ours, dict) and isinstance(theirs, dict):
            for key, value in ours.items():
                if key not in theirs:
                    problems.append(f"{path}/{key} is not in Grafana's schema")
                else:
                    compare(value, theirs[key], f"{path}/{key}")
        elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
            for index, (mine, kept) in enumerate(zip(ours, theirs, strict=True)):
                compare(mine, kept, f"{path}[{index}]")
        elif ours != theirs:
            problems.append(f"{path}: {ours!r} became {theirs!r}")

    compare(data, decoded, "")
    return problems


def test_grafanas_schema_keeps_every_field_of_the_dashboard() -> None:
    assert schema_round_trip(dashboard()) == []


def test_the_schema_check_catches_a_misspelt_field() -> None:
    """Positive control: a field Grafana does not know is reported, not silently accepted."""
    board = dashboard()
    board["panels"][0]["gridpos"] = board["panels"][0].pop("gridPos")
    board["panels"][1]["targets"][0]["legendFormt"] = "x"
    problems = schema_round_trip(board)
    assert any("panels[0]/gridpos" in problem for problem in problems), problems
    assert any("legendFormt" in problem for problem in problems), problems
