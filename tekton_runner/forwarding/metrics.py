"""Prometheus view of a ForwardTable: a collector read at scrape time, registered on a given registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import REGISTRY, CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .stats import MappingStats


class ForwardCollector(Collector):
    """Reads counters from the table when scraped, so the relay hot path never touches a metric."""

    def __init__(self, snapshot: Callable[[], list[MappingStats]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        relayed, total, failures, active = families = _families()
        for stats in self._snapshot():
            mid = str(stats.mapping_id)
            relayed.add_metric([mid, "to_target"], stats.bytes_to_target)
            relayed.add_metric([mid, "to_client"], stats.bytes_to_client)
            total.add_metric([mid], stats.connections_total)
            failures.add_metric([mid], stats.connect_failures)
            active.add_metric([mid], stats.connections_active)
        return families

    def describe(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        # Families without samples: the registry checks names at registration without taking a snapshot.
        return _families()


def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily]:
    return (
        CounterMetricFamily(
            "tekton_runner_forward_bytes",
            "Bytes relayed by the port forwarder, by mapping and direction.",
            labels=["mapping", "direction"],
        ),
        CounterMetricFamily(
            "tekton_runner_forward_connections",
            "Client connections accepted by the port forwarder.",
            labels=["mapping"],
        ),
        CounterMetricFamily(
            "tekton_runner_forward_connect_failures",
            "Client connections closed because the target could not be reached.",
            labels=["mapping"],
        ),
        GaugeMetricFamily(
            "tekton_runner_forward_connections_active",
            "Client connections being relayed right now.",
            labels=["mapping"],
        ),
    )


def register_metrics(
    snapshot: Callable[[], list[MappingStats]], *, registry: CollectorRegistry = REGISTRY
) -> ForwardCollector:
    """Register the forwarder's metrics on `registry`; pass `table.snapshot`. Unregister on shutdown."""
    collector = ForwardCollector(snapshot)
    registry.register(collector)
    return collector
