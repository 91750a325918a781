"""Services on a real database in a temporary directory, with the orchestrator and the relay stubbed out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from tekton_runner.chain.status.metrics import Metrics
from tekton_runner.chain.status.writer import StatusWriter
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run
from tekton_runner.models.settings import Settings
from tekton_runner.service.probing import NoTraffic
from tekton_runner.service.runs import Runs
from tekton_runner.service.sources import Sources
from tekton_runner.store.apps import AppStore
from tekton_runner.store.ports import PortStore
from tekton_runner.store.runs import RunStore
from tekton_runner.store.sqlite import SqliteDatabase
from tekton_runner.store.uploads import UploadStore

Json = dict[str, Any]


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    return Settings(**{
        "data_dir": tmp_path / "data", "kubeconfig": str(tmp_path / "no-kubeconfig"),
        "eventlistener_url": "http://el.test:8080/", "registry": "harbor.test/library",
        "public_host": "203.0.113.7", "public_url": "http://runner.test:8088",
        "local_roots": (tmp_path / "src",), **changes,
    })


def spec(**overrides: Any) -> Json:
    body: Json = {"workspace": "demo", "app": {"name": "shop", "port": 8080},
                  "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"}}
    return {**body, **overrides}


@dataclass
class StubOrchestrator:
    """Records what the services hand to the chain instead of starting builds."""

    submitted: list[RunId] = field(default_factory=list)
    deleted: list[RunId] = field(default_factory=list)
    removed_workspaces: list[str] = field(default_factory=list)

    def submit(self, run: Run) -> None:
        self.submitted.append(run.id)

    async def delete(self, run_id: RunId) -> Run:
        raise AssertionError("not expected")

    async def delete_workspace(self, workspace: str) -> dict[str, object]:
        self.removed_workspaces.append(workspace)
        return {"workspace": workspace, "runs_ended": [], "ports_released": []}


@dataclass
class StubForwardView(NoTraffic):
    """A host where every port is free, unless listed as held by another process."""

    held: frozenset[int] = frozenset()

    async def can_bind(self, port: int) -> bool:
        return port not in self.held


@dataclass
class Domain:
    settings: Settings
    runs: RunStore
    ports: PortStore
    apps: AppStore
    uploads: UploadStore
    orchestrator: StubOrchestrator
    view: StubForwardView
    status: StatusWriter

    def sources(self) -> Sources:
        return Sources(self.settings, self.uploads)

    def run_service(self) -> Runs:
        return Runs(self.settings, self.runs, self.ports, self.sources(), self.view,  # type: ignore[arg-type]
                    self.orchestrator, self.status)


@asynccontextmanager
async def domain(tmp_path: Path, **changes: Any) -> AsyncIterator[Domain]:
    settings = settings_for(tmp_path, **changes)
    async with SqliteDatabase.open(tmp_path / "runner.db") as database:
        yield Domain(settings, RunStore(database), PortStore(database), AppStore(database), UploadStore(database),
                     StubOrchestrator(), StubForwardView(),
                     StatusWriter(database, Metrics.create(CollectorRegistry())))
