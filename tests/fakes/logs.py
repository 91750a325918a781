"""Container logs of the fake Kubernetes API (GET .../pods/{pod}/log), with follow=true streams.

Like the kubelet behind a real API server: a pod with several containers needs `container`; a container
that is not in the pod, or that the pod's status says is waiting with no earlier instance, is a 400;
`previous=true` reads the instance that ended before the kubelet restarted the container (400 when the
status has no `lastState.terminated`), as does a plain read of a container waiting to be restarted;
`limitBytes` and `tailLines` cut the answer; a follow sends what is there, then each new write, and ends
when the container is terminated, the pod is gone, the client left or the fake closes. A pod with no
container statuses at all (tests that only seed a pod) is served whatever text was set for it.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.store import ApiError

Json = dict[str, Any]
Key = tuple[str, str, str | None]


def flag(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as the API server reads it."""
    return query.get(name, "").lower() in ("true", "1")


def _status(pod: Json, container: str) -> Json | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return dict(status)
    return None


def container_state(pod: Json, container: str) -> str | None:
    status = _status(pod, container) or {}
    return next((key for key in ("terminated", "running", "waiting") if key in (status.get("state") or {})), None)


def has_previous(pod: Json, container: str) -> bool:
    """The kubelet reads the instance that ended before the current one by `lastState.terminated.containerID`."""
    ended = ((_status(pod, container) or {}).get("lastState") or {}).get("terminated") or {}
    return bool(ended.get("containerID"))


def _names(pod: Json) -> list[str]:
    spec = pod.get("spec") or {}
    return [item["name"] for item in (spec.get("containers") or []) + (spec.get("initContainers") or [])]


@dataclass
class PodLogBook:
    texts: dict[Key, bytearray] = field(default_factory=dict)
    previous: dict[Key, bytes] = field(default_factory=dict)  # the instance before the last restart
    following: int = 0  # follow streams open now
    closed: bool = False
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def write(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        self.texts.setdefault((namespace, pod, container), bytearray()).extend(text.encode())
        self.poke()

    def poke(self) -> None:
        """Wakes every follow to look again (new text, a changed pod, the end)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        self.closed = True
        self.poke()

    async def wait_following(self, count: int) -> None:
        """Returns once `count` follows are open: text written after that reaches them."""
        while self.following < count:
            await self._changed.wait()

    async def wait_no_follows(self) -> None:
        while self.following:
            await self._changed.wait()

    def container(self, pod: Json, query: Mapping[str, str]) -> str | None:
        """The container a request reads, checked as the API server and kubelet check it."""
        name, names = query.get("container"), _names(pod)
        pod_name = pod["metadata"]["name"]
        containers = [item["name"] for item in (pod.get("spec") or {}).get("containers") or []]
        if name is None and len(containers) > 1:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod_name}, "
                                              f"choose one of: {names}")
        if name is None and containers:
            name = containers[0]
        if name is not None and names and name not in names:
            raise ApiError(400, "BadRequest", f"container {name} is not valid for pod {pod_name}")
        has_statuses = bool((pod.get("status") or {}).get("containerStatuses"))
        if name is not None and has_statuses and flag(query, "previous") and not has_previous(pod, name):
            raise ApiError(400, "BadRequest", f'previous terminated container "{name}" in pod "{pod_name}" not found')
        if (name is not None and has_statuses and container_state(pod, name) in (None, "waiting")
                and not has_previous(pod, name)):
            raise ApiError(400, "BadRequest", f'container "{name}" in pod "{pod_name}" is waiting to start: '
                                              "ContainerCreating")
        return name

    @staticmethod
    def reads_previous(pod: Json, container: str | None, query: Mapping[str, str]) -> bool:
        """`previous=true`, or a container waiting to be restarted: the kubelet reads its last instance."""
        if container is None:
            return False
        restarting = container_state(pod, container) == "waiting" and has_previous(pod, container)
        return flag(query, "previous") or restarting

    def text(self, namespace: str, pod: str, container: str | None) -> bytes:
        found = self.texts.get((namespace, pod, container))
        if found is None:
            found = self.texts.get((namespace, pod, None), bytearray())
        return bytes(found)

    def read(self, namespace: str, pod: str, container: str | None, query: Mapping[str, str], *,
             previous: bool = False) -> bytes:
        text = self.previous.get((namespace, pod, container), b"") if previous else self.text(namespace, pod,
                                                                                           container)
        if "tailLines" in query:
            tail = int(query["tailLines"])
            text = b"".join(text.splitlines(keepends=True)[-tail:]) if tail else b""
        return text[: int(query["limitBytes"])] if "limitBytes" in query else text

    async def follow(
        self, namespace: str, pod: str, container: str | None, query: Mapping[str, str],
        get_pod: Callable[[], Json | None], alive: Callable[[], bool],
    ) -> AsyncIterator[bytes]:
        limit = int(query["limitBytes"]) if "limitBytes" in query else None
        sent = 0
        self.following += 1
        self.poke()
        try:
            while not self.closed and alive():
                changed = self._changed
                text = self.text(namespace, pod, container)
                if len(text) > sent:
                    end = len(text) if limit is None else min(len(text), limit)
                    if end > sent:
                        yield text[sent:end]
                        sent = end
                    if limit is not None and sent >= limit:
                        return
                    continue
                current = get_pod()
                if current is None or (container is not None and container_state(current, container) == "terminated"):
                    return
                await changed.wait()
        finally:
            self.following -= 1
            self.poke()
