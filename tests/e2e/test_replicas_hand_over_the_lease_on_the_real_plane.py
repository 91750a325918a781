"""Three runner processes on one PostgreSQL database, each with a data directory of its own, electing a
leader with a Lease in the real API server: exactly one holds it; killed (SIGKILL) or stopped (SIGSTOP) in
the middle of a chain, another replica takes the Lease within its duration and the run succeeds with one
build and one migration Job. A client following the run through a follower sees each replica's transitions
live, once and in order, across the change of leader. A leader in a network namespace of its own, cut off
from the API server by an nft rule there, steps down by itself before another replica takes the Lease, and
follows once mended."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio

from tests.databases import fresh_postgres_database
from tests.e2e.conftest import Cluster, prove_sink
from tests.e2e.kubeapi import KubeAPI, poll, ssl_from_kubeconfig
from tests.e2e.netns import ReplicaNetns, left_behind, replica_netns
from tests.e2e.runner import Runner, run_spec
from tests.e2e.workspace import build_then_hold_migration, jobs_of_run, new_workspace, settle_held_pods
from tests.sse import Message, read_events, read_until, shape

pytestmark = pytest.mark.e2e

APP = "web"
FAKE_DIGEST = "sha256:" + "cd" * 32
DURATION, RENEW_DEADLINE, RETRY = 8.0, 5.0, 1.0


@pytest_asyncio.fixture
async def shared_database(postgres_server: str) -> str:
    """A database of this test's own on the session's PostgreSQL server, for all three replicas."""
    return await fresh_postgres_database(postgres_server)


@asynccontextmanager
async def three_replicas(cluster: Cluster, kube: KubeAPI, tmp_path: Path, database_url: str,
                         first_in: ReplicaNetns | None = None) -> AsyncIterator[tuple[list[Runner], str]]:
    """replica-0 started first (so it leads; inside `first_in` when given), then two followers; Tekton's
    sink points at replica-1."""
    lease_ns = f"e2e-lease-{uuid.uuid4().hex[:6]}"
    await kube.ensure_namespace(lease_ns)
    election = {
        "TEKTON_RUNNER_LEADER_ELECTION": "true", "TEKTON_RUNNER_LEASE_NAMESPACE": lease_ns,
        "TEKTON_RUNNER_LEASE_DURATION": str(DURATION), "TEKTON_RUNNER_LEASE_RENEW_DEADLINE": str(RENEW_DEADLINE),
        "TEKTON_RUNNER_LEASE_RETRY_PERIOD": str(RETRY), "TEKTON_RUNNER_HANDOVER_SECONDS": "0.2",
        "TEKTON_RUNNER_FORWARD": "false", "TEKTON_RUNNER_DATABASE_URL": database_url,
    }
    where = {"address": first_in.address, "wrap": first_in.wrap} if first_in else {}
    replicas = [Runner({**cluster.env, **election, "TEKTON_RUNNER_LEASE_IDENTITY": f"replica-{number}"},
                       tmp_path / f"replica-{number}", log_path=tmp_path / f"replica-{number}.log",
                       **(where if number == 0 else {}))
                for number in range(3)]
    try:
        await replicas[0].start()
        await poll("replica-0 holding the Lease", lambda: holder_is(kube, lease_ns, "replica-0"), 30)
        for replica in replicas[1:]:
            await replica.start()
        await kube.set_events_sink(replicas[1].events_sink)
        baseline = await replicas[1].events_counted(None, "unmatched")

        async def received(_name: str) -> bool:
            return await replicas[1].events_counted(None, "unmatched") > baseline

        await prove_sink(kube, received)
        yield replicas, lease_ns
    finally:
        for replica in replicas:
            await replica.close()
        await kube.delete(f"/api/v1/namespaces/{lease_ns}")


async def lease(kube: KubeAPI, namespace: str) -> dict[str, Any]:
    found = await kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/tekton-runner")
    return dict((found or {}).get("spec") or {})


async def holder_is(kube: KubeAPI, namespace: str, *identities: str) -> str | None:
    holder = (await lease(kube, namespace)).get("holderIdentity")
    return holder if holder in identities else None


async def roles(replicas: list[Runner]) -> list[str]:
    found = []
    for replica in replicas:
        async with replica.session.get(f"{replica.base_url}/healthz") as response:
            found.append((await response.json())["role"])
    return found


async def run_waiting_on_its_migration(cluster: Cluster, kube: KubeAPI, via: Runner) -> tuple[str, str, str]:
    """A run posted to a follower, built once, its chain held at the migration Job: (run id, ns, Job uid)."""
    run_id, namespace = await posted_run(via)
    return run_id, namespace, await held_at_its_migration(cluster, kube, via, run_id, namespace)


async def posted_run(via: Runner) -> tuple[str, str]:
    workspace = new_workspace("hold")
    return await via.post_run(run_spec(workspace, APP)), f"ws-{workspace}"


async def held_at_its_migration(cluster: Cluster, kube: KubeAPI, via: Runner, run_id: str, namespace: str) -> str:
    """Builds the run once and holds its chain at the migration Job; returns the Job's uid."""
    await build_then_hold_migration(kube, cluster.build_namespace, namespace, FAKE_DIGEST)
    assert (await via.get_run(run_id))["state"] == "deploying"
    (job,) = await jobs_of_run(kube, namespace, run_id)
    return str(job["metadata"]["uid"])


def migration_running(message: Message) -> bool:
    return (message["event"], message["step"], message["state"]) == ("step", "migration", "running")


async def finishes_once(cluster: Cluster, kube: KubeAPI, via: Runner, run_id: str, namespace: str,
                        job_uid: str) -> None:
    await settle_held_pods(kube, namespace, "Job", "succeed")
    run = await via.wait_terminal(run_id, within=180)
    assert run["state"] == "succeeded", run
    taskruns = await kube.list(f"/apis/tekton.dev/v1/namespaces/{cluster.build_namespace}/taskruns",
                               f"tekton-runner.io/run-id={run_id}")
    assert len(taskruns) == 1  # one build
    jobs = await jobs_of_run(kube, namespace, run_id)
    assert [job["metadata"]["uid"] for job in jobs] == [job_uid]  # the migration Job was not made again
    app = await kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{APP}")
    assert app is not None and app["metadata"]["generation"] == 1  # applied with one spec, never changed


async def taken_over(kube: KubeAPI, lease_ns: str, since: float, survivors: tuple[str, ...]) -> float:
    """Seconds from `since` until one of `survivors` holds the Lease."""
    await poll("a surviving replica holding the Lease", lambda: holder_is(kube, lease_ns, *survivors),
               DURATION + 2 * RETRY + 10)
    return time.monotonic() - since


async def test_a_killed_leader_is_replaced_within_the_lease_duration_and_the_run_succeeds_once(
        cluster: Cluster, kube: KubeAPI, tmp_path: Path, shared_database: str) -> None:
    async with (three_replicas(cluster, kube, tmp_path, shared_database) as (replicas, lease_ns),
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as clients):
        assert await roles(replicas) == ["leader", "follower", "follower"]
        run_id, namespace = await posted_run(replicas[2])
        # a client following the run through each follower, from the start, on one stream that never resumes
        streams = [await clients.get(f"{replica.base_url}/runs/{run_id}/events") for replica in replicas[1:]]
        job_uid = await held_at_its_migration(cluster, kube, replicas[2], run_id, namespace)
        seen: list[list[Message]] = []
        for stream in streams:  # the leader's transitions reach them while its chain waits
            async with asyncio.timeout(60):
                seen.append(await read_until(stream, migration_running))

        killed_at = time.monotonic()
        await replicas[0].kill()
        took = await taken_over(kube, lease_ns, killed_at, ("replica-1", "replica-2"))
        assert took <= DURATION + 2 * RETRY, f"taken over after {took:.1f}s"
        survivors = replicas[1:]
        assert sorted(await roles(survivors)) == ["follower", "leader"]
        assert (await lease(kube, lease_ns))["leaseTransitions"] == 1

        await finishes_once(cluster, kube, replicas[1], run_id, namespace, job_uid)
        async with clients.get(f"{replicas[1].base_url}/runs/{run_id}/events") as response:
            history = await read_events(response)
        for stream, before in zip(streams, seen, strict=True):
            async with asyncio.timeout(60):  # the new leader's transitions, up to the run's end, on the same stream
                messages = before + await read_events(stream)
            assert [m["id"] for m in messages] == list(range(1, len(messages) + 1))  # each once, in order
            assert shape(messages)[-1] == ("run", None, "succeeded")
            assert ("step", "migration", "succeeded") in shape(messages)
            assert messages == history


async def test_a_stopped_leader_loses_the_lease_and_follows_when_it_wakes(
        cluster: Cluster, kube: KubeAPI, tmp_path: Path, shared_database: str) -> None:
    async with three_replicas(cluster, kube, tmp_path, shared_database) as (replicas, lease_ns):
        run_id, namespace, job_uid = await run_waiting_on_its_migration(cluster, kube, replicas[1])
        stopped = replicas[0]
        stopped.signal(signal.SIGSTOP)  # no API access at all: it cannot renew
        try:
            await taken_over(kube, lease_ns, time.monotonic(), ("replica-1", "replica-2"))
        finally:
            stopped.signal(signal.SIGCONT)
        await poll("the woken replica following", lambda: is_role(stopped, "follower"), 30)
        assert sorted(await roles(replicas)) == ["follower", "follower", "leader"]
        await finishes_once(cluster, kube, replicas[2], run_id, namespace, job_uid)


async def is_role(replica: Runner, role: str) -> bool:
    return (await roles([replica])) == [role]


async def metric(replica: Runner, line_start: str) -> float:
    async with replica.session.get(f"{replica.base_url}/metrics") as response:
        text = await response.text()
    (value,) = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(value)


async def test_a_leader_cut_off_from_the_api_server_steps_down_before_another_takes_over(
        cluster: Cluster, kube: KubeAPI, tmp_path: Path, shared_database: str) -> None:
    api_port = urlsplit(ssl_from_kubeconfig(cluster.kubeconfig)[0]).port
    assert api_port is not None
    async with replica_netns() as netns:
        async with three_replicas(cluster, kube, tmp_path, shared_database, first_in=netns) as (replicas, lease_ns):
            cut_off = replicas[0]  # reached through the veth pair at its namespace's address
            assert cut_off.base_url.startswith(f"http://{netns.address}:")
            assert await roles(replicas) == ["leader", "follower", "follower"]
            await netns.cut(api_port)
            await poll("the cut-off replica stepping down", lambda: is_role(cut_off, "follower"), DURATION + 10)
            # It stepped down before its Lease expired: for a while no replica leads, never two.
            assert (await lease(kube, lease_ns))["holderIdentity"] == "replica-0"
            assert await roles(replicas) == ["follower", "follower", "follower"]
            workspace = new_workspace("hold")  # its pods wait for the test's word (cluster/kwok-stages.yaml)
            run_id = await replicas[1].post_run(run_spec(workspace, APP))  # before another replica leads
            assert await metric(cut_off, "tekton_runner_leader") == 0
            assert await metric(cut_off, 'tekton_runner_leader_transitions_total{change="lost"}') == 1
            assert "not acquired or renewed: timed out" in await cut_off.log_tail(200)
            await taken_over(kube, lease_ns, time.monotonic(), ("replica-1", "replica-2"))
            assert (await lease(kube, lease_ns))["leaseTransitions"] == 1

            namespace = f"ws-{workspace}"
            await build_then_hold_migration(kube, cluster.build_namespace, namespace, FAKE_DIGEST)
            (job,) = await jobs_of_run(kube, namespace, run_id)
            await finishes_once(cluster, kube, replicas[2], run_id, namespace, job["metadata"]["uid"])

            await netns.mend()
            holder = (await lease(kube, lease_ns))["holderIdentity"]
            assert await is_role(cut_off, "follower")
            # Back on the API server, it is a candidate again: once the others stop (the leader releasing the
            # Lease), it takes the Lease.
            others = {"replica-1": replicas[1], "replica-2": replicas[2]}
            for identity in sorted(others, key=lambda identity: identity == holder):  # the holder last
                await others[identity].close()
            await poll("the mended replica holding the Lease", lambda: holder_is(kube, lease_ns, "replica-0"),
                       DURATION + 2 * RETRY + 10)
            await poll("the mended replica leading", lambda: is_role(cut_off, "leader"), 10)
    assert await left_behind(netns) == []
