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
        relayed, total, failures, active, path = families = _families()
        for stats in self._snapshot():
            mid = str(stats.mapping_id)
            relayed.add_metric([mid, "to_target"], stats.bytes_to_target)
            relayed.add_metric([mid, "to_client"], stats.bytes_to_client)
            total.add_metric([mid], stats.connections_total)
            # The kernel path knows neither (docs/forwarding.md): no sample rather than a false zero.
            if stats.connect_failures is not None:
                failures.add_metric([mid], stats.connect_failures)
            if stats.connections_active is not None:
                active.add_metric([mid], stats.connections_active)
            path.add_metric([mid, stats.path], 1)
        return families

    def describe(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        # Families without samples: the registry checks names at registration without taking a snapshot.
        return _families()


def _families() -> tuple[
    CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, GaugeMetricFamily, GaugeMetricFamily
]:
    return (
        CounterMetricFamily(
            "tekton_runner_forward_bytes",
            "Bytes carried through external ports, by mapping and direction (IP bytes on the DNAT path).",
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
            "Client connections being relayed right now (not reported for DNAT mappings).",
            labels=["mapping"],
        ),
        GaugeMetricFamily(
            "tekton_runner_forward_path",
            "1 for the path that carries the mapping: dnat (kernel NAT), splice or asyncio (the relay).",
            labels=["mapping", "path"],
        ),
    )


def register_metrics(
    snapshot: Callable[[], list[MappingStats]], *, registry: CollectorRegistry = REGISTRY
) -> ForwardCollector:
    """Register the forwarder's metrics on `registry`; pass `table.snapshot`. Unregister on shutdown."""
    collector = ForwardCollector(snapshot)
    registry.register(collector)
    return collector
