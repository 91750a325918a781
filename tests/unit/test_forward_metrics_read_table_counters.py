"""The Prometheus collector reports each mapping's counters from the table, on the registry it is given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tekton_runner.forwarding import Address, MappingId, MappingState, MappingStats, register_metrics


def stats(mapping: str, to_target: int, to_client: int, active: int) -> MappingStats:
    return MappingStats(
        mapping_id=MappingId(mapping),
        state=MappingState.LISTENING,
        listen=Address("0.0.0.0", 18739),
        target=Address("127.0.0.1", 30080),
        bytes_to_target=to_target,
        bytes_to_client=to_client,
        connections_total=active + 3,
        connections_active=active,
        connect_failures=1,
        last_error=None,
    )


def test_metrics_follow_the_snapshot_at_scrape_time() -> None:
    registry = CollectorRegistry()
    current = [stats("ws-a/app", 10, 20, 2)]
    register_metrics(lambda: current, registry=registry)

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("tekton_runner_forward_bytes_total", mapping="ws-a/app", direction="to_target") == 10
    assert sample("tekton_runner_forward_bytes_total", mapping="ws-a/app", direction="to_client") == 20
    assert sample("tekton_runner_forward_connections_total", mapping="ws-a/app") == 5
    assert sample("tekton_runner_forward_connections_active", mapping="ws-a/app") == 2
    assert sample("tekton_runner_forward_connect_failures_total", mapping="ws-a/app") == 1

    current[:] = [stats("ws-b/api", 1, 1, 0)]
    assert sample("tekton_runner_forward_connections_active", mapping="ws-a/app") is None
    assert sample("tekton_runner_forward_connections_active", mapping="ws-b/api") == 0


def test_two_tables_need_two_registries() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    register_metrics(list, registry=first)
    register_metrics(list, registry=second)
    assert first.get_sample_value("tekton_runner_forward_connections_active", {"mapping": "x"}) is None
