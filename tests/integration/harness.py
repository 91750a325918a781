"""The runner under test: a real app on a real port, a stub EventListener, the fake API and Tekton's moves."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from prometheus_client import CollectorRegistry

from tekton_runner.app import ORCHESTRATOR, create_app
from tekton_runner.chain.orchestrator import Orchestrator
from tekton_runner.chain.runtime.retry import RetryPolicy
from tekton_runner.models.clock import SYSTEM_CLOCK, Clock
from tekton_runner.models.runs import RunState
from tekton_runner.models.settings import Settings
from tests.fakes import FakeKubeApi
from tests.integration.simulation import Controllers
from tests.tekton_events import taskrun_event_data

Json = dict[str, Any]
BUILD_NS = "tekton-pipelines"
DIGEST = "sha256:" + "ab" * 32


@dataclass
class StubEventListener:
    """Answers like a Triggers EventListener and, like its TriggerTemplate, creates the TaskRun.

    With `backlog` set, it answers at once but only queues the TaskRun, as a throttled EventListener does;
    `create_backlog(n)` then creates the next n, oldest first."""

    fake: FakeKubeApi
    status: int = 202
    create_taskruns: bool = True
    received: list[tuple[CIMultiDict[str], Json]] = field(default_factory=list)
    backlog: list[tuple[Json, str]] | None = None
    held: asyncio.Event | None = None  # when set, requests are answered only once this event is set

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((CIMultiDict(request.headers), body))
        if self.held is not None:
            await self.held.wait()
        if self.status != 202:
            return web.json_response({"errorMessage": "unavailable"}, status=self.status)
        event_id = str(uuid.uuid4())
        if self.backlog is not None:
            self.backlog.append((body, event_id))
        elif self.create_taskruns:
            self.create_taskrun(body, event_id)
        return web.json_response({"eventListener": "tekton-runner", "namespace": BUILD_NS,
                                  "eventListenerUID": "", "eventID": event_id}, status=202)

    def create_backlog(self, count: int) -> int:
        """Creates the TaskRuns of the next `count` queued requests; returns how many it created."""
        assert self.backlog is not None
        due, self.backlog[:count] = self.backlog[:count], []
        for body, event_id in due:
            self.create_taskrun(body, event_id)
        return len(due)

    def create_taskrun(self, body: Json, event_id: str) -> None:
        name = f"build-{body['run_id']}"
        if self.fake.get_object("taskruns", name, BUILD_NS) is not None:
            return
        self.fake.put_object({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": name, "namespace": BUILD_NS, "uid": str(uuid.uuid4()), "labels": {
                "tekton-runner.io/run-id": body["run_id"], "tekton-runner.io/workspace": body["workspace"],
                "tekton-runner.io/app": body["app"], "triggers.tekton.dev/triggers-eventid": event_id,
                "triggers.tekton.dev/eventlistener": "tekton-runner",
                "triggers.tekton.dev/trigger": "tekton-runner-build-request"}},
            "spec": {"taskRef": {"name": "tekton-runner-build"}, "params": [
                {"name": "SOURCE_TYPE", "value": body["source_type"]},
                {"name": "IMAGE", "value": body["image"]}]},
            "status": {"podName": "", "conditions": [
                {"type": "Succeeded", "status": "Unknown", "reason": "Running", "message": ""}]},
        })


@dataclass
class Harness:
    fake: FakeKubeApi
    listener: StubEventListener
    controllers: Controllers
    settings: Settings
    client: TestClient | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    clock: Clock = SYSTEM_CLOCK  # a FakeClock makes deadlines and back-off run on fake time
    resync: bool = False  # the resync loop (a test usually calls orchestrator.resync() itself)

    async def start(self, *, workspaces: dict[str, Any] | None = None, **changes: Any) -> TestClient:
        if workspaces:
            changes["workspaces"] = replace(self.settings.workspaces, **workspaces)
        if changes:
            self.settings = Settings(**{**dict(self.settings), **changes})  # validated like the real ones
        self.registry = CollectorRegistry()
        app = create_app(self.settings, registry=self.registry, resync=self.resync, clock=self.clock,
                         retry=RetryPolicy(attempts=4, base_delay=0.0, max_delay=0.0))
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        return self.client

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    @property
    def http(self) -> TestClient:
        assert self.client is not None
        return self.client

    @property
    def orchestrator(self) -> Orchestrator:
        return self.http.app[ORCHESTRATOR]

    async def settle(self) -> None:
        """Waits until stored build requests had a pass of the dispatcher and every chain and event task the
        runner started has finished."""
        await self.dispatched()
        await self.orchestrator.scheduler.wait_idle()

    async def dispatched(self) -> None:
        """Returns after a dispatch pass that began after this call: requests stored before it were sent
        (unless paced or backed off). Only a leading replica dispatches; on a follower this does nothing."""
        if self.orchestrator.leadership.leading:
            await self.orchestrator.dispatcher.send_due()

    async def post_run(self, spec: Json) -> Json:
        """POST /run, then a dispatch pass: the answer is the run as stored before its request was sent."""
        response = await self.http.post("/run", json=spec)
        assert response.status == 202, await response.text()
        await self.dispatched()
        return dict(await response.json())

    async def run(self, run_id: str) -> Json:
        response = await self.http.get(f"/runs/{run_id}")
        assert response.status == 200, await response.text()
        return dict(await response.json())

    def finish_taskrun(self, run_id: str, *, succeeded: bool = True, digest: str | None = DIGEST,
                       reason: str | None = None, message: str = "") -> Json:
        """Marks the TaskRun ended in the API server, as Tekton's controller would; returns the object."""
        status: Json = {
            "podName": f"build-{run_id}-pod",
            "startTime": "2026-11-26T10:00:00Z",
            "completionTime": "2026-11-26T10:01:00Z",
            "conditions": [{
                "type": "Succeeded", "status": "True" if succeeded else "False",
                "reason": reason or ("Succeeded" if succeeded else "Failed"),
                "message": message or ("All Steps have completed executing" if succeeded else "step-build failed"),
                "lastTransitionTime": "2026-11-26T10:01:00Z",
            }],
            "results": ([{"name": "IMAGE_DIGEST", "type": "string", "value": digest}] if digest else []),
        }
        return self.fake.set_status("taskruns", f"build-{run_id}", status, namespace=BUILD_NS)

    async def send_event(self, taskrun: Json, kind: str, *, ce_id: str | None = None,
                         path: str = "/cloudevents") -> aiohttp.ClientResponse:
        """POSTs a Tekton-shaped binary CloudEvent: the v1beta1 copy puts results under taskResults."""
        headers = {
            "Ce-Id": ce_id or str(uuid.uuid4()), "Ce-Specversion": "1.0",
            "Ce-Source": f"/apis///namespaces/{BUILD_NS}//{taskrun['metadata']['name']}",
            "Ce-Subject": taskrun["metadata"]["name"], "Ce-Type": f"dev.tekton.event.taskrun.{kind}.v1",
            "Ce-Time": "2026-11-26T10:01:01Z", "Content-Type": "application/json", "Connection": "close",
        }
        return await self.http.post(path, data=json.dumps(taskrun_event_data(taskrun)), headers=headers)

    async def app_step_waiting(self, run_id: str) -> Json:
        """The app step once it has stored its due time (the chain task then parks until it). Bounded only so
        that a regression fails, showing the run, instead of hanging."""
        run: Json = {}
        try:
            async with asyncio.timeout(60):
                while True:
                    run = await self.run(run_id)
                    app_step = next(step for step in run["steps"] if step["name"] == "app")
                    if app_step["reason"] == "AppNotReady" and app_step.get("due_at"):
                        return dict(app_step)
                    await asyncio.sleep(0)  # yields to the chain task; no time passes
        except TimeoutError:
            raise AssertionError(f"the app step of run {run_id} never waited: {run}") from None

    async def run_after_build(self, spec: Json) -> Json:
        """Posts a run, lets its build succeed and its chain run to rest; returns the run as stored then."""
        run_id = (await self.post_run(spec))["run_id"]
        await self.send_event(self.finish_taskrun(run_id), "successful")
        await self.settle()
        return await self.run(run_id)

    async def run_to_success(self, spec: Json) -> Json:
        run_id = (await self.post_run(spec))["run_id"]
        taskrun = self.finish_taskrun(run_id)
        response = await self.send_event(taskrun, "successful")
        assert response.status == 202, await response.text()
        await self.settle()
        run = await self.run(run_id)
        assert run["state"] == RunState.SUCCEEDED, run
        return run


def spec(**overrides: Any) -> Json:
    base: Json = {
        "workspace": "demo",
        "app": {"name": "shop", "port": 8080, "env": {"GREETING": "hello"}},
        "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
        "dependency": {"type": "both"},
        "migration": {"enabled": True, "command": ["./manage.py", "migrate"]},
    }
    base.update(overrides)
    return base


@pytest_asyncio.fixture
async def harness(fake_kube: FakeKubeApi, tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    fake_kube.add_namespace(BUILD_NS)
    listener = StubEventListener(fake_kube)
    el_app = web.Application()
    el_app.router.add_post("/", listener.handle)
    el_server = TestServer(el_app)
    await el_server.start_server()
    controllers = Controllers(fake_kube)
    controllers.install()
    settings = Settings(
        data_dir=tmp_path / "data", kubeconfig=str(fake_kube.kubeconfig),
        eventlistener_url=str(el_server.make_url("/")), registry="harbor.test/library",
        public_host="203.0.113.7",
        public_url="http://runner.test:8088", build_namespace=BUILD_NS, poll_interval=0.001, ready_timeout=5.0,
        local_roots=(tmp_path / "src",), node_address="127.0.0.1", shutdown_grace=0.0,
        forward_listen_host="127.0.0.1", database_url=database_url,
        # the fake API's NodePorts have nothing behind them unless a test starts a server there (reach_timeout=…)
        reach_timeout=0.0,
    )
    harness = Harness(fake_kube, listener, controllers, settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await el_server.close()


__all__ = ["BUILD_NS", "DIGEST", "Harness", "harness", "replace", "spec"]
