"""A resync pass costs the same API calls and database rows whether 100 or 1,000 finished runs are stored.

Finished runs keep their TaskRuns in the cluster (nothing pruned them), as they would on a busy runner;
the pass must list only the TaskRuns of live runs and read live runs and one row per app, not history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tekton_runner.app import CONTEXT
from tekton_runner.models.ids import new_run_id
from tekton_runner.models.runs import RunState
from tekton_runner.models.spec import RunSpec
from tekton_runner.store.database import Database
from tests.integration.harness import BUILD_NS, Harness, spec

APPS = 20


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every row the runner's database hands back to Python."""
    counted = [0]
    fetch_all, fetch_one = Database.fetch_all, Database.fetch_one

    async def counting_all(self: Database, *args: Any, **kwargs: Any) -> Any:
        rows = await fetch_all(self, *args, **kwargs)
        counted[0] += len(rows)
        return rows

    async def counting_one(self: Database, *args: Any, **kwargs: Any) -> Any:
        row = await fetch_one(self, *args, **kwargs)
        counted[0] += row is not None
        return row

    monkeypatch.setattr(Database, "fetch_all", counting_all)
    monkeypatch.setattr(Database, "fetch_one", counting_one)
    yield counted


async def _finish_history(harness: Harness, count: int) -> None:
    """Stores `count` ended runs over APPS apps, each with its TaskRun still in the cluster."""
    ctx = harness.http.app[CONTEXT]
    for index in range(count):
        run_id = new_run_id()
        run_spec = RunSpec.model_validate(spec(app={"name": f"old{index % APPS}", "port": 8080}))
        await ctx.status.run_created(run_id, run_spec, "harbor.test/library/old:1")
        await ctx.status.run_deleted(run_id, reason="Deleted", message="history")
        harness.fake.put_object({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": f"build-{run_id}", "namespace": BUILD_NS,
                         "labels": {"tekton-runner.io/run-id": run_id}},
            "spec": {"taskRef": {"name": "tekton-runner-build"}},
            "status": {"conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}]},
        })


async def _one_pass(harness: Harness, rows_read: list[int]) -> tuple[list[tuple[str, str]], int]:
    before_requests, before_rows = len(harness.fake.requests), rows_read[0]
    assert await harness.orchestrator.resync()
    calls = [(request.method, request.path) for request in harness.fake.requests[before_requests:]]
    return calls, rows_read[0] - before_rows


async def test_resync_reads_the_same_with_ten_times_the_history(harness: Harness, rows_read: list[int]) -> None:
    live = [(await harness.post_run(spec(app={"name": f"live{index}", "port": 8080})))["run_id"]
            for index in range(3)]
    await _finish_history(harness, 100)
    await harness.orchestrator.resync()  # the first pass may record what it sees for the first time
    small_calls, small_rows = await _one_pass(harness, rows_read)

    await _finish_history(harness, 900)
    large_calls, large_rows = await _one_pass(harness, rows_read)

    assert large_calls == small_calls and large_rows == small_rows
    lists = [request for request in harness.fake.requests_to("GET", r"/taskruns$")][-1:]
    assert lists and lists[0].query["labelSelector"] == f"tekton-runner.io/run-id in ({','.join(sorted(live))})"
    assert {(await harness.run(run_id))["state"] for run_id in live} == {RunState.BUILDING.value}
