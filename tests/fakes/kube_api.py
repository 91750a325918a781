"""FakeKubeApi: an in-process HTTP fake of the Kubernetes API server for integration tests."""

import asyncio
import copy
import json
import re
import types
from pathlib import Path
from typing import Self

from aiohttp.test_utils import TestServer

from tests.fakes.faults import Fault, FaultBook, Hold, RecordedRequest
from tests.fakes.logs import PodLogBook
from tests.fakes.resources import ResourceRegistry, ResourceType
from tests.fakes.serving import KubeHandler
from tests.fakes.store import Json, ObjectStore
from tests.fakes.verbs import Verbs
from tests.fakes.watching import Watches

DEFAULT_TOKEN = "fake-kube-token"


class FakeKubeApi:
    """An HTTP server on 127.0.0.1 (random port) that speaks enough Kubernetes API for kubernetes_asyncio.

    Use as `async with FakeKubeApi() as fake:`; point clients at `fake.url` or `fake.write_kubeconfig(path)`.
    State is plain dicts; helpers below seed and inspect it without going through HTTP.
    """

    def __init__(self, *, require_namespaces: bool = True) -> None:
        self.registry = ResourceRegistry.with_builtins()
        self.store = ObjectStore(require_namespaces=require_namespaces)
        self.faults = FaultBook()
        self.requests: list[RecordedRequest] = []
        self.watches = Watches()
        self._verbs = Verbs(self.registry, self.store, self.watches)
        self.store.on_change = self._changed
        self._handler = KubeHandler(self.registry, self._verbs, self.faults, self.requests)
        self._server: TestServer | None = None
        self._kubeconfig: Path | None = None

    def _changed(self, event_type: str, group: str, plural: str, obj: Json, resource_version: int) -> None:
        self.watches.record(event_type, group, plural, obj, resource_version)
        if plural == "pods":
            self._verbs.logs.poke()  # a follow ends when its container is terminated or its pod is gone

    async def start(self) -> None:
        self._server = TestServer(self._handler.app(), host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        for hold in self.faults.holds:
            hold.release.set()  # nothing stays parked on a hold once the test is over
        self.watches.end_all()
        self._verbs.logs.close()
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        await self.close()

    @property
    def crashes(self) -> list[Exception]:
        """Exceptions the fake raised while serving (answered as 500); the fixture fails the test on any."""
        return self._handler.crashes

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Kubernetes API is not started")
        return str(self._server.make_url("")).rstrip("/")

    def write_kubeconfig(self, path: Path, *, token: str = DEFAULT_TOKEN, namespace: str = "default") -> Path:
        """Write a kubeconfig (plain http, bearer token) whose current context points at this fake."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}],
        }
        path.write_text(json.dumps(config, indent=2))  # JSON is valid YAML for kubeconfig loaders
        self._kubeconfig = path
        return path

    @property
    def kubeconfig(self) -> Path:
        """The kubeconfig last written by write_kubeconfig (the fixture writes one)."""
        if self._kubeconfig is None:
            raise RuntimeError("no kubeconfig written yet; call fake.write_kubeconfig(path)")
        return self._kubeconfig

    # Fault injection.

    def fail(
        self,
        *,
        method: str | None = None,
        path_regex: str | re.Pattern[str] | None = None,
        status: int = 500,
        times: int | None = 1,
        retry_after: int | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests (None: all of them) with an error Status."""
        return self.faults.fail(
            method=method,
            path_regex=path_regex,
            status=status,
            times=times,
            retry_after=retry_after,
            reason=reason,
            message=message,
        )

    def delay(
        self,
        *,
        method: str | None = None,
        path_regex: str | re.Pattern[str] | None = None,
        times: int | None = 1,
        release: asyncio.Event | None = None,
    ) -> Hold:
        """Hold matching requests until `hold.release` (an asyncio.Event) is set; await `hold.arrived`."""
        return self.faults.delay(method=method, path_regex=path_regex, times=times, release=release)

    # Watches.

    async def wait_for_watches(self, count: int = 1) -> None:
        """Wait until `count` watches are open; changes made after that reach them (no sleeps needed)."""
        await self.watches.wait_open(count)

    def end_watches(self) -> None:
        """End every open watch stream, as a real server does now and then; clients must re-watch."""
        self.watches.end_all()

    # Request history.

    def requests_to(self, method: str | None = None, path_regex: str | None = None) -> list[RecordedRequest]:
        return [
            request
            for request in self.requests
            if (method is None or request.method == method.upper())
            and (path_regex is None or re.search(path_regex, request.path))
        ]

    def applies(self, resource: str | None = None, name: str | None = None) -> list[RecordedRequest]:
        """Server-side apply requests, optionally for one resource type (kind or plural) and object name."""
        found = [request for request in self.requests if request.is_apply]
        if resource is not None:
            plural = self.registry.resolve(resource).plural
            found = [request for request in found if f"/{plural}/" in request.path]
        if name is not None:
            found = [request for request in found if request.path.rstrip("/").split("/")[-1] == name]
        return found

    # State: seeding and assertions.

    def register(self, rtype: ResourceType) -> ResourceType:
        """Serve another resource type (needed for cluster-scoped custom kinds, or to fix a guessed kind)."""
        return self.registry.register(rtype)

    def objects(self, resource: str, namespace: str | None = None) -> list[Json]:
        """Copies of stored objects of one type (kind, plural or plural.group), in one or all namespaces."""
        return copy.deepcopy(self.store.list(self.registry.resolve(resource), namespace))

    def get_object(self, resource: str, name: str, namespace: str | None = None) -> Json | None:
        rtype = self.registry.resolve(resource)
        found = self.store.objects.get(self.store.key(rtype, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def put_object(self, obj: Json) -> Json:
        """Seed an object from its apiVersion and kind, bypassing HTTP, faults and namespace checks."""
        return self.store.put(self.registry.by_api_version_kind(obj["apiVersion"], obj["kind"]), obj)

    def add_namespace(self, name: str, labels: dict[str, str] | None = None) -> Json:
        return self.put_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        )

    def set_status(
        self, resource: str, name: str, status: Json, *, namespace: str | None = None, merge: bool = False
    ) -> Json:
        """Replace (or merge into) an object's status, as a controller would; bumps resourceVersion."""
        rtype = self.registry.resolve(resource)
        obj = copy.deepcopy(self.store.get(rtype, namespace, name))
        obj["status"] = {**obj.get("status", {}), **status} if merge else copy.deepcopy(status)
        return self.store.update(rtype, namespace, name, obj)

    def set_pod_log(self, namespace: str, pod: str, text: str) -> None:
        """What GET .../pods/{pod}/log answers for any container of the pod (the pod itself must exist)."""
        self._verbs.logs.texts[(namespace, pod, None)] = bytearray(text.encode())
        self._verbs.logs.poke()

    def write_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """Appends to one container's log, as the container would write it; open follows receive it."""
        self._verbs.logs.write(namespace, pod, text, container)

    def set_previous_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """The log of the container's instance before its last restart (`previous=true`, or a plain read while
        the container waits to be restarted); the pod's status must say so with `lastState.terminated`."""
        self._verbs.logs.previous[(namespace, pod, container)] = text.encode()

    @property
    def logs(self) -> PodLogBook:
        """The container logs and open follows (`await fake.logs.wait_following(1)`)."""
        return self._verbs.logs
