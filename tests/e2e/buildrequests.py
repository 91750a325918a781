"""Build-request CloudEvents as docs/contracts.md defines them, and the kwok controls tests use.

kwok (cluster/kwok-stages.yaml) completes run-to-completion pods by itself, except "held" ones
(workspace label hold-*, namespace ws-hold-*): those stay Running until a test sets the outcome
annotation on the pod.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

from tests.e2e.kubeapi import KubeAPI, Obj, poll

BUILD_REQUESTED = "io.tekton-runner.build.requested.v1"
OUTCOME = "kwok.tekton-runner.io/outcome"
TERMINATION_MESSAGE = "kwok.tekton-runner.io/termination-message"


def new_run_id() -> str:
    return "r-" + uuid.uuid4().hex[:16]


def build_request(run_id: str, workspace: str, app: str, image: str) -> dict[str, str]:
    spec = {"workspace": workspace, "app": app, "source": {"type": "git", "url": "https://git.invalid/app.git"}}
    return {
        "run_id": run_id, "workspace": workspace, "app": app, "source_type": "git",
        "git_url": "https://git.invalid/app.git", "git_revision": "main", "context_dir": ".",
        "dockerfile": "Dockerfile", "archive_url": "", "image": image, "spec_json": json.dumps(spec),
    }


async def post_build_request(eventlistener_url: str, body: dict[str, str]) -> dict[str, Any]:
    headers = {"Ce-Specversion": "1.0", "Ce-Type": BUILD_REQUESTED, "Ce-Source": "tekton-runner",
               "Ce-Id": body["run_id"], "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session, \
            session.post(eventlistener_url, data=json.dumps(body), headers=headers) as resp:
        text = await resp.text()
        assert resp.status == 202, f"EventListener answered {resp.status}: {text}"
        answer: dict[str, Any] = json.loads(text)
        return answer


async def pod_of_taskrun(kube: KubeAPI, namespace: str, taskrun: str, within: float = 60) -> Obj:
    async def probe() -> Obj | None:
        pods = await kube.list(f"/api/v1/namespaces/{namespace}/pods", f"tekton.dev/taskRun={taskrun}")
        return pods[0] if pods else None
    return await poll(f"pod of TaskRun {taskrun}", probe, within)


async def wait_running(kube: KubeAPI, namespace: str, pod: str, within: float = 60) -> Obj:
    async def probe() -> Obj | None:
        obj = await kube.get(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        return obj if (obj or {}).get("status", {}).get("phase") == "Running" else None
    return await poll(f"pod {namespace}/{pod} Running", probe, within)


async def decide(kube: KubeAPI, namespace: str, pod: str, outcome: str, message: str | None = None) -> None:
    """Tell kwok how a held pod ends: outcome 'succeed' or 'fail'."""
    annotations = {OUTCOME: outcome}
    if message is not None:
        annotations[TERMINATION_MESSAGE] = message
    await kube.merge_patch(f"/api/v1/namespaces/{namespace}/pods/{pod}",
                           {"metadata": {"annotations": annotations}})
