"""A follower's relay on a real PostgreSQL: its LISTEN connection killed by the server (pg_terminate_backend)
loses no transition, and while it cannot listen again it reads the feed on its interval; each transition
another replica wrote reaches its hub once, in order, and it listens again once it can.

Two stores (two pools) on one database stand for two replicas: the leader's status writer and the
follower's relay and hub. The database belongs to a role of its own, so a connection limit of 0 can keep
the follower from connecting again while the connections it has stay open.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from prometheus_client import CollectorRegistry

from tekton_runner.chain.runtime.scheduler import Scheduler
from tekton_runner.chain.status.hub import Item, ProgressHub
from tekton_runner.chain.status.metrics import Metrics
from tekton_runner.chain.status.relaying import Relay
from tekton_runner.chain.status.writer import StatusWriter
from tekton_runner.models.ids import RunId, new_run_id
from tekton_runner.models.progress import Progress
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.listening import LISTENER_NAME
from tekton_runner.store.opening import open_database
from tekton_runner.store.progress_feed import ProgressFeed
from tests.integration.harness import spec

INTERVAL = 0.05  # how often the follower reads while it cannot listen (reconnection back-off up to 1.5 s)


@dataclass
class Replicas:
    admin: asyncpg.Connection
    database: str
    leader: StatusWriter
    follower: ProgressHub
    follower_metrics: CollectorRegistry

    def listening(self) -> float | None:
        return self.follower_metrics.get_sample_value("tekton_runner_progress_listening")

    async def listeners(self) -> list[int]:
        rows = await self.admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
                                      self.database, LISTENER_NAME)
        return [row["pid"] for row in rows]


async def until(what: str, condition: Callable[[], bool]) -> None:
    """Polls `condition` 0.02 s apart for at most 30 s."""
    for _ in range(1500):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {what}")


async def own_database(server_url: str, admin: asyncpg.Connection) -> tuple[str, str]:
    """A new role owning a new database of the same name: (name, URL connecting as that role)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    await admin.execute(f'CREATE ROLE "{name}" LOGIN')
    await admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    parts = urlsplit(server_url)
    return name, urlunsplit(parts._replace(netloc=f"{name}:unused@{parts.hostname}:{parts.port}", path=f"/{name}"))


@asynccontextmanager
async def two_replicas(server_url: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    admin = await asyncpg.connect(server_url)
    name, url = await own_database(server_url, admin)
    scheduler = Scheduler(limit=1)
    try:
        async with (open_database(url=url, path=tmp_path / "unused") as leader_db,
                    open_database(url=url, path=tmp_path / "unused") as follower_db):
            hub, registry = ProgressHub(), CollectorRegistry()
            relay = Relay(ProgressFeed(follower_db), hub, interval=INTERVAL, notifies=True, registry=registry)
            scheduler.spawn("relay", lambda: relay.serve_forever(after=0), limited=False, daemon=True)
            replicas = Replicas(admin, name, StatusWriter(leader_db, Metrics.create(CollectorRegistry())), hub,
                                registry)
            await until("listening", lambda: replicas.listening() == 1)
            try:
                yield replicas
            finally:
                await scheduler.close(grace=0)
    finally:
        await admin.execute(f'ALTER ROLE "{name}" CONNECTION LIMIT -1')
        await admin.close()


async def received(queue: asyncio.Queue[Item], count: int) -> list[Progress]:
    """The next `count` items the follower's hub passed on (failing after 30 s without them)."""
    async with asyncio.timeout(30):
        items = [await queue.get() for _ in range(count)]
    assert all(isinstance(item, Progress) for item in items), items
    return [item for item in items if isinstance(item, Progress)]


@asynccontextmanager
async def followed_run(replicas: Replicas) -> AsyncIterator[tuple[RunId, asyncio.Queue[Item]]]:
    """A run the leader created, followed on the follower's hub, which already passed its first transition on."""
    run_id = new_run_id()
    with replicas.follower.subscribe(run_id) as queue:
        await replicas.leader.run_created(run_id, RunSpec.model_validate(spec()), "registry.example/shop")
        assert [(item.seq, item.state) for item in await received(queue, 1)] == [(1, "pending")]
        yield run_id, queue


async def notes(leader: StatusWriter, run_id: RunId, *messages: str) -> None:
    """One transition per message, written by the leader (a run that stays pending, saying why)."""
    for message in messages:
        await leader.build_requeued(run_id, reason="Waiting", message=message)


async def test_a_killed_listening_connection_loses_nothing_and_listens_again(postgres_server: str,
                                                                             tmp_path: Path) -> None:
    async with two_replicas(postgres_server, tmp_path) as replicas, followed_run(replicas) as (run_id, queue):
        (killed,) = await replicas.listeners()
        assert await replicas.admin.fetchval("SELECT pg_terminate_backend($1)", killed)
        await notes(replicas.leader, run_id, "while it was lost", "and again")  # whenever it noticed

        assert [(item.seq, item.message) for item in await received(queue, 2)] == [
            (2, "while it was lost"), (3, "and again")]
        await until("listening again", lambda: replicas.listening() == 1)
        (back,) = await replicas.listeners()
        assert back != killed

        await notes(replicas.leader, run_id, "once it was back")
        assert [(item.seq, item.message) for item in await received(queue, 1)] == [(4, "once it was back")]
        assert queue.empty()  # nothing twice


async def test_a_replica_that_cannot_listen_reads_the_feed_on_its_interval(postgres_server: str,
                                                                            tmp_path: Path) -> None:
    async with two_replicas(postgres_server, tmp_path) as replicas, followed_run(replicas) as (run_id, queue):
        # connections open stay open; a new one (the listener's reconnection) is refused
        await replicas.admin.execute(f'ALTER ROLE "{replicas.database}" CONNECTION LIMIT 0')
        (killed,) = await replicas.listeners()
        await replicas.admin.fetchval("SELECT pg_terminate_backend($1)", killed)
        await until("reading on the interval", lambda: replicas.listening() == 0)

        await notes(replicas.leader, run_id, "first", "second", "third")
        got = await received(queue, 3)
        assert [(item.seq, item.message) for item in got] == [(2, "first"), (3, "second"), (4, "third")]
        assert replicas.listening() == 0 and await replicas.listeners() == []  # read, not notified

        await replicas.admin.execute(f'ALTER ROLE "{replicas.database}" CONNECTION LIMIT -1')
        await until("listening again", lambda: replicas.listening() == 1)
        await notes(replicas.leader, run_id, "fourth")
        assert [(item.seq, item.message) for item in await received(queue, 1)] == [(5, "fourth")]
        assert queue.empty()
