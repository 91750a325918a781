"""What the runner reads of a Pod's status, and what a container that is not ready says about why.

Pure: `chain/diagnosis.py` lists the pods and reads their logs, this module judges what the kubelet
reported. The rules (docs/troubleshooting.md):
- a container that exited `CRASH_EXITS` times without becoming ready is crash-looping (permanent: the
  kubelet only restarts it with a longer back-off each time);
- an image pull that failed because the node cannot resolve the registry host, the registry refused the
  credentials, the image is not there, the registry's TLS is not trusted or the reference is invalid is
  permanent: pulling again cannot change it until someone changes the node, the registry or the request;
- any other pull failure (a timeout, a refused connection, a 5xx) is transient: the kubelet retries it, so
  the step waits, showing the kubelet's words, until TEKTON_RUNNER_READY_TIMEOUT;
- other waiting reasons (CreateContainerConfigError: a missing Secret or key, ...) and an unschedulable pod
  are shown while the step waits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .images import ImageReference

# Exits of one container before it counts as crash-looping: the first crash may be a race at start (a
# dependency still warming up); a second one after the kubelet's back-off is the app's own doing.
CRASH_EXITS = 2
# The kubelet's message is quoted up to this many characters.
MAX_QUOTED = 600


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Waiting(_Loose):
    reason: str = ""
    message: str = ""


class Terminated(_Loose):
    exit_code: int = Field(default=0, alias="exitCode")
    reason: str = ""
    message: str = ""
    signal: int = 0


class ContainerState(_Loose):
    waiting: Waiting | None = None
    running: dict[str, object] | None = None
    terminated: Terminated | None = None


class ContainerStatus(_Loose):
    name: str
    image: str = ""
    ready: bool = False
    restart_count: int = Field(default=0, alias="restartCount")
    state: ContainerState = Field(default_factory=ContainerState)
    last_state: ContainerState = Field(default_factory=ContainerState, alias="lastState")

    @property
    def exits(self) -> int:
        """How many times this container has exited: each restart follows an exit, and a container that is
        terminated now, or waiting to be restarted after one, has exited once more."""
        ended_now = self.state.terminated is not None or (
            self.state.waiting is not None and self.last_state.terminated is not None)
        return self.restart_count + (1 if ended_now else 0)

    @property
    def last_exit(self) -> Terminated | None:
        """The latest termination: the current state when it is terminated, else the previous instance's."""
        return self.state.terminated or self.last_state.terminated


class PodCondition(_Loose):
    type: str
    status: str
    reason: str = ""
    message: str = ""


class PodStatus(_Loose):
    phase: str = ""
    conditions: list[PodCondition] = Field(default_factory=list)
    container_statuses: list[ContainerStatus] = Field(default_factory=list, alias="containerStatuses")
    init_container_statuses: list[ContainerStatus] = Field(default_factory=list, alias="initContainerStatuses")


class PodMetadata(_Loose):
    name: str
    namespace: str = ""
    deletion_timestamp: str | None = Field(default=None, alias="deletionTimestamp")


class PodView(_Loose):
    metadata: PodMetadata
    status: PodStatus = Field(default_factory=PodStatus)

    @property
    def statuses(self) -> list[ContainerStatus]:
        return [*self.status.init_container_statuses, *self.status.container_statuses]


class Problem(StrEnum):
    """What is wrong with a pod; the step's failure reason is the step's subject followed by this."""

    CRASH_LOOPING = "CrashLooping"
    IMAGE_HOST_UNRESOLVABLE = "ImageHostUnresolvable"
    IMAGE_PULL_UNAUTHORIZED = "ImagePullUnauthorized"
    IMAGE_NOT_FOUND = "ImageNotFound"
    IMAGE_REGISTRY_UNTRUSTED = "ImageRegistryUntrusted"
    INVALID_IMAGE = "InvalidImage"
    IMAGE_PULL_FAILING = "ImagePullFailed"  # transient: waits, and names the timeout
    CONTAINER_CONFIG = "ContainerConfigError"  # waits, and names the timeout
    CONTAINER_EXITED = "ContainerExited"  # exited once: waits (a second exit is a crash loop)
    CONTAINER_WAITING = "ContainerWaiting"
    UNSCHEDULABLE = "Unschedulable"


@dataclass(frozen=True)
class Trouble:
    """Why one pod is not ready, in words a user can act on."""

    problem: Problem
    permanent: bool
    pod: str
    container: str
    summary: str
    previous_log: bool = False  # crash loops: the last lines are in the previous instance's log
    current_log: bool = False  # ... or in the current one, when the container is terminated now


_PULL_WAITING = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable", "SignatureValidationFailed"})
_INVALID_IMAGE = frozenset({"InvalidImageName", "ErrImageNeverPull"})
_CONFIG_WAITING = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
                             "PreCreateHookError", "PreStartHookError", "PostStartHookError"})
_LOOKUP = re.compile(r"lookup ([A-Za-z0-9._-]+)(?: on [^\s:]+(?::\d+)?)?: no such host")
# Permanent pull failures, each recognised by what containerd and registries say (lower-cased).
_PULL_RULES: tuple[tuple[Problem, tuple[str, ...]], ...] = (
    (Problem.IMAGE_REGISTRY_UNTRUSTED, ("x509:", "certificate signed by unknown authority",
                                        "tls: failed to verify certificate",
                                        "server gave http response to https client")),
    (Problem.IMAGE_PULL_UNAUTHORIZED, ("401 unauthorized", "unauthorized:", "authentication required",
                                       "403 forbidden", "denied:", "pull access denied", "insufficient_scope",
                                       "signature validation failed")),
    (Problem.IMAGE_NOT_FOUND, ("manifest unknown", "404 not found", "name unknown", ": not found")),
)


def quoted(text: str) -> str:
    """The kubelet's words on one line, at most MAX_QUOTED characters: its start and its end, where the cause
    is (Go errors wrap outwards: "failed to pull ...: failed to resolve ...: lookup X: no such host")."""
    text = " ".join(text.split())
    if len(text) <= MAX_QUOTED:
        return text
    head = MAX_QUOTED // 3
    return f"{text[:head]} … {text[len(text) - (MAX_QUOTED - head):]}"


def unresolved_host(message: str) -> str | None:
    """The host name in "lookup <host> [on <dns server>]: no such host", as Go's resolver says it."""
    found = _LOOKUP.search(message)
    return found.group(1) if found else None


def registry_host(image: str) -> str:
    try:
        return ImageReference.parse(image).host
    except ValueError:
        return image


def pull_trouble(pod: str, status: ContainerStatus, waiting: Waiting) -> Trouble:
    """An image that cannot be pulled: permanent or transient by what the kubelet says went wrong."""
    image, said = status.image, quoted(waiting.message or waiting.reason)
    where = f"pod {pod}: container {status.name} cannot pull image {image}"
    host = unresolved_host(waiting.message)
    if host is not None:
        return Trouble(Problem.IMAGE_HOST_UNRESOLVABLE, True, pod, status.name,
                       f"{where}: the node cannot resolve the registry host {host!r} (the kubelet said: {said})")
    if waiting.reason in _INVALID_IMAGE:
        return Trouble(Problem.INVALID_IMAGE, True, pod, status.name, f"{where}: {waiting.reason}: {said}")
    lowered = waiting.message.lower()
    for problem, words in _PULL_RULES:
        if any(word in lowered for word in words):
            return Trouble(problem, True, pod, status.name,
                           f"{where} from {registry_host(image)}: {_PULL_WORDS[problem]} (the kubelet said: {said})")
    return Trouble(Problem.IMAGE_PULL_FAILING, False, pod, status.name,
                   f"{where} from {registry_host(image)} yet; the kubelet retries: {waiting.reason}: {said}")


_PULL_WORDS = {
    Problem.IMAGE_REGISTRY_UNTRUSTED: "the node does not trust the registry's TLS certificate (or speaks HTTPS to a "
                                      "plain-HTTP registry)",
    Problem.IMAGE_PULL_UNAUTHORIZED: "the registry refused the pull credentials",
    Problem.IMAGE_NOT_FOUND: "the registry has no such image",
}


def exit_words(ended: Terminated) -> str:
    """`exit code 1 (Error)`, with the container's termination message when it wrote one."""
    words = f"exit code {ended.exit_code}"
    if ended.signal:
        words += f", signal {ended.signal}"
    if ended.reason:
        words += f" ({ended.reason})"
    if ended.message and not ended.message.lstrip().startswith("["):  # Tekton's entrypoint writes JSON there
        words += f": {quoted(ended.message)}"
    return words


def container_trouble(pod: str, status: ContainerStatus) -> Trouble | None:
    """Why this container is not ready, when the kubelet says something about it."""
    waiting, ended = status.state.waiting, status.last_exit
    if status.state.terminated is not None and status.state.terminated.exit_code == 0:
        return None  # completed (an init container, a Job's container): nothing wrong with it
    if waiting is not None and (waiting.reason in _PULL_WAITING or waiting.reason in _INVALID_IMAGE):
        return pull_trouble(pod, status, waiting)
    if ended is not None and status.exits >= CRASH_EXITS:
        return Trouble(Problem.CRASH_LOOPING, True, pod, status.name,
                       f"pod {pod}: container {status.name} keeps crashing: it exited {status.exits} times, "
                       f"last with {exit_words(ended)}",
                       previous_log=status.state.terminated is None, current_log=status.state.terminated is not None)
    if waiting is not None and waiting.reason in _CONFIG_WAITING:
        return Trouble(Problem.CONTAINER_CONFIG, False, pod, status.name,
                       f"pod {pod}: container {status.name} cannot start: {waiting.reason}: "
                       f"{quoted(waiting.message)}")
    if ended is not None and not status.ready:
        return Trouble(Problem.CONTAINER_EXITED, False, pod, status.name,
                       f"pod {pod}: container {status.name} exited with {exit_words(ended)}; the kubelet restarts it")
    if waiting is not None and waiting.reason not in ("", "ContainerCreating", "PodInitializing"):
        return Trouble(Problem.CONTAINER_WAITING, False, pod, status.name,
                       f"pod {pod}: container {status.name} is waiting: {waiting.reason}: {quoted(waiting.message)}")
    return None


def pod_trouble(pod: PodView) -> Trouble | None:
    """The most telling trouble of one pod: the first permanent one, else the first at all."""
    found = [trouble for status in pod.statuses if not status.ready
             if (trouble := container_trouble(pod.metadata.name, status)) is not None]
    for condition in pod.status.conditions:
        if condition.type == "PodScheduled" and condition.status == "False" and condition.message:
            found.append(Trouble(Problem.UNSCHEDULABLE, False, pod.metadata.name, "",
                                 f"pod {pod.metadata.name} is not scheduled: {condition.reason}: "
                                 f"{quoted(condition.message)}"))
    return next((trouble for trouble in found if trouble.permanent), found[0] if found else None)


def stuck_pulling(pod: PodView) -> bool:
    """A container of the pod waits on an image pull that failed (the kubelet retries it only after a back-off
    of up to five minutes, and until then reports the old error)."""
    return any(status.state.waiting is not None and status.state.waiting.reason in _PULL_WAITING
               for status in pod.statuses)


def worst_trouble(pods: list[PodView]) -> Trouble | None:
    """Across the pods of one object (those being deleted left out): the first permanent trouble, else the first
    trouble, else None."""
    found = [trouble for pod in pods if pod.metadata.deletion_timestamp is None
             if (trouble := pod_trouble(pod)) is not None]
    return next((trouble for trouble in found if trouble.permanent), found[0] if found else None)
