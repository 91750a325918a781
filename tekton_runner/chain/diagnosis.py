"""Why a step's pods are not running, read from the API server: their statuses judged by models/pods.py and,
for a container that crashed, the last lines of its log. Used by the steps' readiness reads and by the build
observation (the failed step container's last lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..kube import Kube, KubeError
from ..models.pods import PodView, Problem, Trouble, stuck_pulling, worst_trouble

# A quoted log is at most this many of its last lines and characters (the kubelet is asked for no more
# than LOG_READ_BYTES, so a container that writes one huge line cannot make the runner read it all).
LOG_LINES = 20
LOG_CHARS = 2000
LOG_READ_BYTES = 64 * 1024
# Where users read what each failure means and what to change (docs/troubleshooting.md's sections).
DOCS = "docs/troubleshooting.md"
_ADVICE = {
    Problem.IMAGE_HOST_UNRESOLVABLE: (
        "make that name resolvable on the node (its DNS resolver or /etc/hosts; for a kind workspace "
        "TEKTON_RUNNER_REGISTRY_ADDRESS, then remove the workspace so it is made again), or push and pull "
        "through a host it resolves (TEKTON_RUNNER_REGISTRY, TEKTON_RUNNER_MIRROR_PREFIX); see "
        f"{DOCS}#the-node-cannot-resolve-the-registry-host"),
    Problem.IMAGE_PULL_UNAUTHORIZED: (
        "check the workspace's pull Secret (TEKTON_RUNNER_REGISTRY_USERNAME/_PASSWORD or "
        f"TEKTON_RUNNER_REGISTRY_DOCKER_CONFIG); see {DOCS}#image-pulls"),
    Problem.IMAGE_NOT_FOUND: f"check that the build pushed it and nothing deleted it; see {DOCS}#image-pulls",
    Problem.IMAGE_REGISTRY_UNTRUSTED: (
        "give the node the registry's CA (TEKTON_RUNNER_REGISTRY_CA_FILE for a kind workspace, containerd's "
        f"certs.d otherwise); see {DOCS}#image-pulls"),
    Problem.INVALID_IMAGE: f"see {DOCS}#image-pulls",
    Problem.CRASH_LOOPING: f"see {DOCS}#the-app-keeps-crashing",
}

# A failure no pod status tells of: the app is ready, but its NodePort does not accept a connection from the
# runner's host (the forward step, within TEKTON_RUNNER_REACH_TIMEOUT). One fixed reason, so it stays bounded.
APP_NOT_REACHABLE = "AppNotReachable"
NOT_REACHABLE_ADVICE = (
    "check that kube-proxy runs on that node and that nothing between this host and the node drops the "
    "connection (a firewall, TEKTON_RUNNER_NODE_ADDRESS naming an address this host cannot reach); see "
    f"{DOCS}#the-app-is-ready-but-its-nodeport-does-not-answer")


@dataclass(frozen=True)
class Diagnosis:
    """What the pods of one object say: `problem` names it, `message` says it with what to do."""

    problem: Problem
    permanent: bool
    message: str


def last_lines(text: str) -> str:
    """The last LOG_LINES lines of `text`, at most LOG_CHARS characters of them."""
    lines = text.rstrip().splitlines()[-LOG_LINES:]
    kept = "\n".join(lines)
    return kept if len(kept) <= LOG_CHARS else "…" + kept[-LOG_CHARS:]


async def log_tail(kube: Kube, namespace: str, pod: str, container: str, *, previous: bool = False) -> str | None:
    """The container's last lines (of its previous instance with `previous`), None when they cannot be read
    (the pod is gone, the kubelet cannot be reached): a diagnosis never fails for want of a log."""
    try:
        text = await kube.pod_logs(namespace, pod, container=container, tail=LOG_LINES, previous=previous,
                                   limit_bytes=LOG_READ_BYTES)
    except KubeError:
        return None
    return last_lines(text) or None


async def diagnose(kube: Kube, namespace: str, labels: Mapping[str, str], *, then: str = "") -> Diagnosis | None:
    """The pods carrying `labels`, judged; None when none of them says anything is wrong. `then` is appended
    to the advice of a permanent failure (what to do once it is fixed)."""
    items = await kube.list("v1", "Pod", namespace=namespace, labels=labels)
    trouble = worst_trouble([PodView.model_validate(item) for item in items])
    if trouble is None:
        return None
    message = trouble.summary
    if trouble.previous_log or trouble.current_log:
        lines = await log_tail(kube, namespace, trouble.pod, trouble.container, previous=trouble.previous_log)
        message += f"; its last log lines:\n{lines}" if lines else "; its log could not be read"
    return Diagnosis(trouble.problem, trouble.permanent, _advised(trouble, message, then))


def _advised(trouble: Trouble, message: str, then: str) -> str:
    advice = _ADVICE.get(trouble.problem)
    if advice is None:
        return message
    if trouble.problem is Problem.CRASH_LOOPING:
        return f"{message}\n({advice})"
    return f"{message}. To fix: {advice}" + (f"; {then}" if then else "")


async def retry_pulls(kube: Kube, namespace: str, labels: Mapping[str, str]) -> list[str]:
    """Deletes the pods carrying `labels` that are stuck on a failed image pull, so that their controller makes
    new ones, which pull at once; returns their names. A new run after the node was fixed (a redeploy) must
    neither wait out the kubelet's back-off nor be judged by the old pods' error. Only for Deployments whose
    pod template does not change from run to run (the dependencies): the app's and the migration's pods are
    the run's own."""
    deleted = []
    for item in await kube.list("v1", "Pod", namespace=namespace, labels=labels):
        pod = PodView.model_validate(item)
        if pod.metadata.deletion_timestamp is None and stuck_pulling(pod):
            await kube.delete("v1", "Pod", pod.metadata.name, namespace)
            deleted.append(pod.metadata.name)
    return deleted
