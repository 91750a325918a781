"""deploy/grafana/tekton-runner.json is a dashboard Grafana can import as it is: the fields an import needs,
panels that do not overlap on the 24-column grid, targets on the templated Prometheus data source; and it
shows every metric the runner exports (a new metric without a panel fails here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from tekton_runner.chain.metrics import Metrics
from tekton_runner.forwarding.metrics import register_metrics

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
    exported = {metric.name for metric in registry.collect()}
    exprs = " ".join(target["expr"] for panel in dashboard()["panels"] for target in panel["targets"])
    shown = {name for name in exported if re.search(rf"\b{name}(_total|_bucket|_seconds)?\b", exprs)}
    assert exported - shown == set(), "metrics without a panel"
    used = set(re.findall(r"\btekton_runner_[a-z_]+", exprs + RULES.read_text()))
    samples = {f"{name}{suffix}" for name in exported for suffix in ("", "_total", "_bucket", "_count", "_sum")}
    assert used <= samples, f"queries name metrics the runner does not export: {used - samples}"
