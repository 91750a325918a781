"""End-to-end tier: the real local control plane (cluster/ctl.py), started once per session.

The plane is brought up after collection, outside any single test's timeout, because the first run on
a machine builds it from Go modules. A plane started here is stopped again at the end of the session;
one that was already up (make cluster-up) is left running. TEKTON_RUNNER_E2E=0 skips this tier.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.kubeapi import KubeAPI, poll, taskrun_path
from tests.e2e.runner import Runner
from tests.e2e.sink import EventSink

ROOT = Path(__file__).resolve().parents[2]
CTL = ROOT / "cluster" / "ctl.py"
STATE = Path(os.environ.get("TEKTON_RUNNER_CLUSTER_DIR", "/tmp/tekton-runner-cluster"))

_plane: dict[str, object] = {"error": None, "started_here": False}


@dataclass(frozen=True)
class Cluster:
    env: dict[str, str]

    @property
    def kubeconfig(self) -> Path:
        return Path(self.env["KUBECONFIG"])

    @property
    def eventlistener_url(self) -> str:
        return self.env["TEKTON_RUNNER_EVENTLISTENER_URL"]

    @property
    def build_namespace(self) -> str:
        return self.env["TEKTON_RUNNER_BUILD_NAMESPACE"]

    @property
    def registry_host(self) -> str:
        return self.env["TEKTON_RUNNER_REGISTRY_HOST"]

    def ctl(self, *args: str) -> None:
        subprocess.run([sys.executable, str(CTL), *args], check=True)


def _read_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (STATE / "cluster.env").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = shlex.split(value)[0] if value else ""
    return env


def _plane_is_up() -> bool:
    return subprocess.run([sys.executable, str(CTL), "status"], capture_output=True).returncode == 0


def _e2e_items(session: pytest.Session) -> list[pytest.Item]:
    return [item for item in session.items if item.get_closest_marker("e2e") is not None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEKTON_RUNNER_E2E") == "0":
        skip = pytest.mark.skip(reason="TEKTON_RUNNER_E2E=0: end-to-end tier switched off")
        for item in items:
            if item.get_closest_marker("e2e") is not None:
                item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    if os.environ.get("TEKTON_RUNNER_E2E") == "0" or not _e2e_items(session):
        return
    if _plane_is_up():
        return
    capman = session.config.pluginmanager.getplugin("capturemanager")
    print("\n[e2e] starting the local control plane (cluster/ctl.py up)", flush=True)
    with capman.global_and_fixture_disabled():
        result = subprocess.run([sys.executable, str(CTL), "up"])
    if result.returncode != 0:
        _plane["error"] = f"cluster/ctl.py up exited with {result.returncode}; see {STATE}/logs"
    else:
        _plane["started_here"] = os.environ.get("TEKTON_RUNNER_E2E_KEEP") != "1"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _plane["started_here"]:
        subprocess.run([sys.executable, str(CTL), "down"], capture_output=True)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    if _plane["error"]:
        pytest.fail(str(_plane["error"]))
    if not _plane_is_up():
        subprocess.run([sys.executable, str(CTL), "up"], check=True)
    return Cluster(_read_env())


@pytest.fixture
async def kube(cluster: Cluster) -> AsyncIterator[KubeAPI]:
    async with KubeAPI(cluster.kubeconfig) as api:
        yield api


async def prove_sink(kube: KubeAPI, received: Callable[[str], Awaitable[bool]]) -> None:
    """Wait until Tekton's events controller posts to the sink just configured.

    It picks a new sink up through a ConfigMap watch; a throw-away TaskRun whose event shows up at the
    new sink proves the switch happened before a test relies on it.
    """
    namespace = "e2e-sink-probe"
    await kube.ensure_namespace(namespace)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    await kube.create(taskrun_path(namespace), {
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": name, "namespace": namespace},
        "spec": {"taskSpec": {"steps": [{"name": "noop", "image": "images.invalid/e2e/shell:v1",
                                         "script": "true"}]}},
    })

    async def arrived() -> bool:
        return await received(name)

    await poll(f"a CloudEvent about {name} at the new sink", arrived, 60)


@pytest.fixture
async def event_sink(cluster: Cluster, kube: KubeAPI) -> AsyncIterator[EventSink]:
    """A recording sink that Tekton's events controller is proven to be posting to."""
    sink = EventSink()
    url = await sink.start()
    try:
        await kube.set_events_sink(url)

        async def received(name: str) -> bool:
            return any(e.subject == name for e in sink.events)

        await prove_sink(kube, received)
        yield sink
    finally:
        await sink.stop()


@asynccontextmanager
async def serving(kube: KubeAPI, proc: Runner) -> AsyncIterator[Runner]:
    """Starts `proc`, points Tekton's events sink at it and waits until its events arrive; closes it after."""
    await proc.start()
    try:
        await kube.set_events_sink(proc.events_sink)
        baseline = await proc.events_counted(None, "unmatched")

        async def received(_name: str) -> bool:
            return await proc.events_counted(None, "unmatched") > baseline

        await prove_sink(kube, received)
        yield proc
    finally:
        await proc.close()


@pytest.fixture
async def runner(cluster: Cluster, kube: KubeAPI, tmp_path: Path) -> AsyncIterator[Runner]:
    """`tekton-runner serve` against the local plane, with Tekton's events sink pointed at it."""
    async with serving(kube, Runner(cluster.env, tmp_path / "runner")) as proc:
        yield proc
