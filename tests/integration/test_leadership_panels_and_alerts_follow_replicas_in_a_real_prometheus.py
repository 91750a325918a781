"""The dashboard's leadership panels and the leadership alerts on replicas: Debian's Prometheus scrapes several
replicas on one database electing a leader with a Lease, and evaluates every leadership panel query and alert.

On PostgreSQL: exactly one replica is seen leading and the others report 0; every replica is seen listening,
and not listening while its listening connection cannot be made; when the leader stops, the count follows
to the replica that took over. A replica configured with another Lease's name leads on its own, and
Prometheus counts two leaders (TektonRunnerTwoLeaders pending); with Lease writes refused and the leader
stopped, it counts none (TektonRunnerNoLeader pending), and still none once every replica is gone. On
SQLite the replicas export no listening gauge, so its alert has nothing to fire on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tekton_runner.models.settings import reveal
from tekton_runner.store.listening import LISTENER_NAME
from tests.integration.harness import Harness
from tests.integration.prometheus import (
    JOB,
    Prometheus,
    instance,
    panel_queries,
    panel_query,
    rules_of,
    running_prometheus,
    until,
)
from tests.integration.replicas import leadership, replicas

LEADER = panel_query("Leader, by replica")
LEADERS = panel_query("Leaders across replicas (must be 1)")
LISTENING = panel_query("Listening for other replicas' progress, by replica (PostgreSQL)")
LEASE_WRITES = r"/leases/tekton-runner$"
ALERTS = [str(rule["alert"]) for rule in rules_of("tekton-runner.leadership") if "alert" in rule]


async def value(prometheus: Prometheus, expr: str) -> float | None:
    """The value of a query with one series (None while it has none)."""
    found = await prometheus.query(expr)
    assert len(found) <= 1, found
    return float(found[0]["value"][1]) if found else None


async def states(prometheus: Prometheus) -> dict[str, str]:
    """Each leadership alert's state as Prometheus evaluated it: inactive, or active (pending, then firing
    once its condition held for the rule's `for`)."""
    rules = {rule["name"]: rule for rule in await prometheus.rules()}
    return {name: "inactive" if rules[name]["state"] == "inactive" else "active" for name in ALERTS}


async def until_seen(prometheus: Prometheus, what: str, leader: dict[str, float], leaders: float,
                     alerts: dict[str, str]) -> None:
    """Polls Prometheus (at most 60 s) until the leader panel shows `leader` per instance, the recorded count
    and the count panel `leaders` (the panel has no data with no replica up), and the leadership alerts are
    in the given states."""
    async def shown() -> bool | None:
        return (await prometheus.by_instance(LEADER) == leader
                and await value(prometheus, LEADERS) == (leaders if leader else None)
                and await value(prometheus, "tekton_runner:leaders:sum") == leaders
                and await states(prometheus) == alerts) or None
    await until(what, shown, attempts=1200)


INACTIVE = {name: "inactive" for name in ALERTS}


@asynccontextmanager
async def database_refusing_connections(server_url: str, replica: Harness) -> AsyncIterator[None]:
    """The replicas' database takes no new connection (those open stay open), and the listening connections
    are cut: no replica can listen again until the block ends."""
    url = reveal(replica.settings.database_url)
    assert url is not None
    name = url.split("?")[0].rsplit("/", 1)[1]
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            cut = await admin.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                    " WHERE datname = $1 AND application_name = $2", name, LISTENER_NAME)
            assert len(cut) == 3, cut
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_one_leader_is_seen_then_followed_and_none_or_two_leaders_are_alerted(
    harness: Harness, postgres_server: str, tmp_path: Path
) -> None:
    first, second, third = await replicas(harness, 3)
    a, b, c = (instance(replica) for replica in (first, second, third))
    rogue: Harness | None = None
    try:
        async with running_prometheus(tmp_path) as prometheus:
            prometheus.scrape(a, b, c)
            # exactly one leader, the one that holds the Lease; the others report 0; every replica listens
            await until_seen(prometheus, "replica-0 leading", {a: 1, b: 0, c: 0}, 1, INACTIVE)
            everyone_listening = {a: 1.0, b: 1.0, c: 1.0}
            await until("three replicas listening",
                        lambda: _equal(prometheus.by_instance(LISTENING), everyone_listening))
            for title, expr in panel_queries():
                if "tekton_runner_leader" in expr or "progress_listening" in expr:
                    # (a rate needs a second scrape)
                    await until(f"series for the panel {title!r}", lambda: prometheus.series(expr))  # noqa: B023
            for rule in rules_of("tekton-runner.leadership"):
                if "alert" in rule:
                    assert await prometheus.query(rule["expr"]) == [], rule  # healthy: nothing to alert on

            async with database_refusing_connections(postgres_server, first):
                not_listening = {a: 0.0, b: 0.0, c: 0.0}
                await until("no replica listening",
                            lambda: _equal(prometheus.by_instance(LISTENING), not_listening))
                pending = await until("TektonRunnerProgressNotListening pending for each replica",
                                      lambda: _alerts_for(prometheus, "TektonRunnerProgressNotListening", {a, b, c}))
                assert {alert["labels"]["job"] for alert in pending} == {JOB}
            await until("every replica listening again", lambda: _equal(prometheus.by_instance(LISTENING),
                                                                      everyone_listening), attempts=1200)
            await until_seen(prometheus, "the listening alert inactive again", {a: 1, b: 0, c: 0}, 1, INACTIVE)

            await first.stop()  # a clean stop: the Lease is released and another replica takes it
            new_leader = await until("a new leader", lambda: _leading(second, third))
            follower = third if new_leader is second else second
            await until_seen(prometheus, "the count following the new leader",
                             {instance(new_leader): 1, instance(follower): 0}, 1, INACTIVE)

            # replicas on one database with another Lease's name: each Lease has its leader
            rogue = Harness(harness.fake, harness.listener, harness.controllers, harness.settings, resync=True)
            await rogue.start(lease_identity="rogue", lease_name="tekton-runner-rogue")
            await leadership(rogue).wait(True)
            prometheus.scrape(a, b, c, instance(rogue))
            await until_seen(prometheus, "two leaders", {instance(new_leader): 1, instance(follower): 0,
                                                         instance(rogue): 1},
                             2, {**INACTIVE, "TektonRunnerTwoLeaders": "active"})
            await rogue.stop()
            await until_seen(prometheus, "one leader again", {instance(new_leader): 1, instance(follower): 0},
                             1, INACTIVE)

            # the API server refuses Lease writes: the leader's release fails and nobody can take the Lease
            harness.fake.fail(method="PUT", path_regex=LEASE_WRITES, status=403, times=None)
            await new_leader.stop()
            await until_seen(prometheus, "no leader", {instance(follower): 0}, 0,
                             {**INACTIVE, "TektonRunnerNoLeader": "active"})
            assert not leadership(follower).leading
            await follower.stop()
            await until("every replica down", lambda: prometheus.series(f'count(up{{job="{JOB}"}} == 0) == 4'))
            await until_seen(prometheus, "no leader with no replica up", {}, 0,
                             {**INACTIVE, "TektonRunnerNoLeader": "active"})
    finally:
        for replica in (first, second, third, rogue):
            if replica is not None:
                await replica.stop()


async def test_on_sqlite_replicas_export_no_listening_gauge_so_its_alert_cannot_fire(
    harness: Harness, tmp_path: Path
) -> None:
    leader, follower = await replicas(harness, 2)
    try:
        async with running_prometheus(tmp_path) as prometheus:
            prometheus.scrape(instance(leader), instance(follower))
            await until_seen(prometheus, "replica-0 leading", {instance(leader): 1, instance(follower): 0}, 1,
                             INACTIVE)
            assert await prometheus.query("tekton_runner_progress_listening") == []
            assert await prometheus.query(LISTENING) == []
            (listening,) = [rule for rule in rules_of("tekton-runner.leadership")
                            if "progress_listening" in rule["expr"]]
            assert await prometheus.query(listening["expr"]) == []
            assert (await prometheus.alert(listening["alert"]))["health"] == "ok"
    finally:
        await follower.stop()


async def _equal(found: Any, expected: dict[str, float]) -> bool | None:
    return True if await found == expected else None


async def _alerts_for(prometheus: Prometheus, name: str, instances: set[str]) -> list[dict[str, Any]] | None:
    """The alert's active alerts once there is one for each of `instances` (and no other)."""
    alerts: list[dict[str, Any]] = (await prometheus.alert(name))["alerts"]
    return alerts if {alert["labels"]["instance"] for alert in alerts} == instances else None


async def _leading(*candidates: Harness) -> Harness | None:
    leading = [replica for replica in candidates if leadership(replica).leading]
    assert len(leading) <= 1, "two replicas of one Lease lead"
    return leading[0] if leading else None
