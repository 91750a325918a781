"""Copies the logs of located pods to a writer as labelled lines, within a byte budget, optionally following
them until their containers end, the client leaves or the follow time is up. Called by GET /runs/{id}/logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ...kube import Invalid, KubeError, NotFound
from ...models.clock import Clock
from .sources import PodLogs, container_state

Write = Callable[[bytes], Awaitable[None]]
NOTE = b"[tekton-runner] "
MAX_LINE = 16 * 1024  # a longer line (or output with no newline at all) is passed on in pieces of this size
CLIENT_CHECK_SECONDS = 1.0  # how often a quiet follow checks that its client is still there


class StreamEnded(Exception):
    """Ends the whole copy; its message (when it has one) is the last line the reader gets."""


class LimitReached(StreamEnded):
    pass


class FollowExpired(StreamEnded):
    pass


class ClientGone(StreamEnded):
    pass


class Lines:
    """Splits a container's byte stream into lines, each prefixed with `[label] `."""

    def __init__(self, label: str) -> None:
        self._prefix = b"[" + label.encode() + b"] "
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        while len(self._pending) > MAX_LINE:
            complete.append(self._pending[:MAX_LINE])
            self._pending = self._pending[MAX_LINE:]
        return [self._line(part) for part in complete]

    def flush(self) -> list[bytes]:
        rest, self._pending = self._pending, b""
        return [self._line(rest)] if rest else []

    def _line(self, raw: bytes) -> bytes:
        return self._prefix + raw.removesuffix(b"\r") + b"\n"


class LogCopy:
    """One request's copy: shared budget, one writer, lines never interleaved."""

    def __init__(self, write: Write, *, follow: bool, max_bytes: int, poll_interval: float, clock: Clock) -> None:
        self._write = write
        self._follow = follow
        self._max_bytes = max_bytes
        self._left = max_bytes
        self._poll = poll_interval
        self._clock = clock
        self._lock = asyncio.Lock()

    async def run(self, pods: list[PodLogs], *, alive: Callable[[], bool], deadline: float) -> None:
        """Copies every pod's containers; the note of whatever ended it early is written last."""
        gone, ended = False, None
        try:
            if self._follow:
                await self._follow_all(pods, alive, deadline)
            else:
                for pod in pods:
                    await self._pod(pod)
        except* ConnectionResetError:
            gone = True  # the client went away mid-write: nobody is left to tell
        except* StreamEnded as group:
            ended = group.exceptions[0]
        if ended is not None and ended.args and not gone and not isinstance(ended, ClientGone):
            await self._write(NOTE + str(ended.args[0]).encode() + b"\n")

    async def _follow_all(self, pods: list[PodLogs], alive: Callable[[], bool], deadline: float) -> None:
        # A TaskGroup rather than the Scheduler: these tasks live and die with this one request, and any of
        # them ending the stream (budget, client gone, time up) must cancel the others at once.
        async with asyncio.TaskGroup() as group:
            watch = group.create_task(self._watch(alive, deadline))
            readers = [group.create_task(self._pod(pod)) for pod in pods]
            await asyncio.wait(readers)
            watch.cancel()

    async def _watch(self, alive: Callable[[], bool], deadline: float) -> None:
        while True:
            if not alive():
                raise ClientGone()
            if self._clock.monotonic() >= deadline:
                raise FollowExpired("the follow ended: it reached TEKTON_RUNNER_LOGS_FOLLOW_TIMEOUT")
            await self._clock.sleep(CLIENT_CHECK_SECONDS)

    async def _pod(self, pod: PodLogs) -> None:
        for container, label in pod.containers:
            try:
                if not await self._started(pod, container):
                    continue
                await self._container(pod, container, label)
            except NotFound:
                await self._emit(NOTE + f"pod {pod.pod} no longer exists; its log ends here\n".encode())
                return
            except Invalid as error:  # e.g. the container has not started: nothing to read from it
                await self._emit(NOTE + f"{label}: no log: {error.message}\n".encode())
            except KubeError as error:
                await self._emit(NOTE + f"{label}: the log could not be read: {error.message}\n".encode())

    async def _started(self, pod: PodLogs, container: str) -> bool:
        """Whether the container has a log to read; a follower waits for it to start (NotFound: pod gone)."""
        while True:
            found = await pod.kube.get("v1", "Pod", pod.pod, pod.namespace)
            state = container_state(found, container)
            if state in ("running", "terminated"):
                return True
            ended = (found.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if not self._follow or ended:  # a pod that ended before the container ran: it never will
                return False
            await self._clock.sleep(self._poll)

    async def _container(self, pod: PodLogs, container: str, label: str) -> None:
        lines = Lines(label)
        async with pod.kube.pod_log_stream(pod.namespace, pod.pod, container=container, follow=self._follow,
                                           limit_bytes=max(self._left, 1)) as chunks:
            async for chunk in chunks:
                for line in lines.feed(chunk):
                    await self._emit(line)
        for line in lines.flush():
            await self._emit(line)

    async def _emit(self, line: bytes) -> None:
        async with self._lock:
            if len(line) > self._left:
                raise LimitReached(f"the log is cut here: it reached TEKTON_RUNNER_LOGS_MAX_BYTES "
                                   f"({self._max_bytes} bytes)")
            self._left -= len(line)
            await self._write(line)
