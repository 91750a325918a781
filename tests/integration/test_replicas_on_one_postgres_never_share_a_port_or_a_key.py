"""Two replicas' stores (two pools) on one PostgreSQL database: the last free port goes to one app, one
Idempotency-Key makes one run. Nothing here rests on a lock inside one process.

The races are made to happen, not hoped for: a writer on another connection holds the contested row in an
open transaction until the store's statement is seen waiting for it in pg_stat_activity, then commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio

from tekton_runner.models.ids import RunId
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Database
from tekton_runner.store.opening import open_database
from tekton_runner.store.ports import PortRangeExhausted, PortStore
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import DuplicateRequest, RunStore
from tests.databases import fresh_postgres_database

T = TypeVar("T")
SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})
NOW = "2026-12-01T00:00:00+00:00"


@pytest_asyncio.fixture
async def url(postgres_server: str) -> str:
    return await fresh_postgres_database(postgres_server)


@pytest_asyncio.fixture
async def replicas(url: str, tmp_path: Any) -> AsyncIterator[tuple[Database, Database]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(open_database(url=url, path=tmp_path / "unused"))
        second = await stack.enter_async_context(open_database(url=url, path=tmp_path / "unused"))
        yield first, second


@asynccontextmanager
async def _uncommitted(url: str, sql: str, *args: object) -> AsyncIterator[Any]:
    """Another writer's connection holding `sql`'s rows in an open transaction."""
    holder = await asyncpg.connect(url)
    try:
        await holder.execute("BEGIN")
        await holder.execute(sql, *args)
        yield holder
    finally:
        await holder.close()


async def _when_waiting_on_a_lock(url: str, statement: Awaitable[T], holder: Any) -> T:
    """Starts `statement`, commits `holder`'s transaction once the statement waits for its row lock."""
    task = asyncio.ensure_future(statement)
    observer = await asyncpg.connect(url)
    try:
        while not task.done():
            waiting = await observer.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
            if waiting:
                break
            await asyncio.sleep(0.005)  # polling the server's view of the race, not timing it
    finally:
        await observer.close()
    await holder.execute("COMMIT")
    return await task


async def _one_wins(first: Awaitable[T], second: Awaitable[T]) -> tuple[T, BaseException]:
    """Runs both at once; exactly one must succeed. Returns its result and the other's error."""
    results = await asyncio.gather(first, second, return_exceptions=True)
    won = [result for result in results if not isinstance(result, BaseException)]
    lost = [result for result in results if isinstance(result, BaseException)]
    assert len(won) == 1 and len(lost) == 1, results
    return won[0], lost[0]


async def test_the_last_free_port_goes_to_one_of_two_concurrent_allocations(
        replicas: tuple[Database, Database]) -> None:
    first, second = replicas
    won, lost = await _one_wins(
        PortStore(first).allocate(workspace="demo", app="shop", run_id="r-1", requested=None,
                                  port_range=(18000, 18000)),
        PortStore(second).allocate(workspace="demo", app="cart", run_id="r-2", requested=None,
                                   port_range=(18000, 18000)))
    assert won.port == 18000 and isinstance(lost, PortRangeExhausted)
    assert [mapping.owner for mapping in await PortStore(second).all()] == [won.owner]


async def test_an_allocation_that_loses_the_race_for_a_port_takes_the_next(url: str,
                                                                          replicas: tuple[Database, Database]) -> None:
    async with _uncommitted(url, "INSERT INTO ports (port, workspace, app, run_id, created_at, updated_at)"
                                 " VALUES (18000, 'demo', 'shop', 'r-1', $1, $1)", NOW) as holder:
        mapping = await _when_waiting_on_a_lock(url, PortStore(replicas[1]).allocate(
            workspace="demo", app="cart", run_id="r-2", requested=None, port_range=(18000, 18001)), holder)
    assert mapping.port == 18001
    with pytest.raises(PortRangeExhausted):
        await PortStore(replicas[0]).allocate(workspace="demo", app="api", run_id="r-3", requested=None,
                                              port_range=(18000, 18001))


async def test_two_concurrent_creates_with_one_idempotency_key_make_one_run(
        replicas: tuple[Database, Database]) -> None:
    first, second = replicas
    (created, _), refused = await _one_wins(
        RunWrites(first).create(RunId("r-0000000000000001"), SPEC, "img:1", idempotency_key="k"),
        RunWrites(second).create(RunId("r-0000000000000002"), SPEC, "img:2", idempotency_key="k"))
    assert isinstance(refused, DuplicateRequest) and refused.run_id == created.id
    assert [run.id for run in await RunStore(first).list()] == [created.id]


async def test_a_create_that_loses_the_race_for_its_key_names_the_winner(url: str,
                                                                        replicas: tuple[Database, Database]) -> None:
    async with _uncommitted(url, "INSERT INTO runs (id, workspace, app, spec_json, state, image, created_at,"
                                 " updated_at, idempotency_key) VALUES ('r-winner', 'demo', 'shop', $1, 'pending',"
                                 " 'img', $2, $2, 'k')", SPEC.model_dump_json(), NOW) as holder:
        create = RunWrites(replicas[1]).create(RunId("r-0000000000000002"), SPEC, "img:2", idempotency_key="k")
        with pytest.raises(DuplicateRequest) as refused:
            await _when_waiting_on_a_lock(url, create, holder)
    assert refused.value.run_id == "r-winner"
    assert [run.id for run in await RunStore(replicas[0]).list()] == ["r-winner"]
