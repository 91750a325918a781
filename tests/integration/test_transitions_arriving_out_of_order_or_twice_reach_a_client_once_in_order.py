"""A replica's hub gets a run's transitions by two paths: its own status writer publishes at once, and the
relay brings every replica's from the feed later (its own again among them). So one can overtake an
earlier one written elsewhere, and each can come twice; a client following the run still gets each once,
in the run's order."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tekton_runner.chain.status.hub import ProgressHub
from tekton_runner.chain.status.metrics import Metrics
from tekton_runner.chain.status.relaying import Relay
from tekton_runner.chain.status.writer import StatusWriter
from tekton_runner.models.ids import new_run_id
from tekton_runner.models.progress import Progress
from tekton_runner.models.runs import RunState
from tekton_runner.models.spec import RunSpec
from tekton_runner.service.progress import KeepAlive, Progresses
from tekton_runner.store.database import Database
from tekton_runner.store.progress_feed import ProgressFeed
from tekton_runner.store.runs import RunStore
from tests.databases import both_backends
from tests.integration.harness import spec

pytestmark = both_backends


def writer(database: Database, hub: ProgressHub | None = None) -> StatusWriter:
    return StatusWriter(database, Metrics.create(CollectorRegistry()), hub=hub)


async def test_a_transition_that_overtakes_one_from_another_replica_reaches_the_client_after_it(
        database: Database) -> None:
    hub = ProgressHub()
    here, elsewhere = writer(database, hub), writer(database)  # elsewhere publishes to a hub of its own
    relay = Relay(ProgressFeed(database), hub, interval=1.0, notifies=database.dialect.name == "postgresql",
                  registry=CollectorRegistry())
    run_id = new_run_id()
    await here.run_created(run_id, RunSpec.model_validate(spec()), "registry.example/shop")
    follow = await Progresses(RunStore(database), hub, max_followers=1, keepalive=3600.0,
                              longest=3600.0).follow(run_id)
    stream = aiter(follow)
    try:
        seen = [await anext(stream)]  # the history: pending

        await elsewhere.build_requeued(run_id, reason="Waiting", message="elsewhere")  # not yet relayed here
        await here.build_requeued(run_id, reason="Waiting", message="here")  # published here at once
        seen += [await anext(stream), await anext(stream)]
        await relay.relay(0)  # the relay catches up: all three again, and the one from elsewhere
        await here.run_ended(run_id, RunState.FAILED, reason="build:Gone", message="the end")
        await relay.relay(0)
        seen += [item async for item in stream]
    finally:
        await follow.aclose()

    assert not any(isinstance(item, KeepAlive) for item in seen)
    progress = [item for item in seen if isinstance(item, Progress)]
    assert [item.seq for item in progress] == list(range(1, len(progress) + 1))
    assert [item.message for item in progress[:3]] == ["image registry.example/shop", "elsewhere", "here"]
    assert (progress[-1].subject, progress[-1].state) == ("run", "failed")
    assert progress == await RunStore(database).progress(run_id, after=0, limit=100)
