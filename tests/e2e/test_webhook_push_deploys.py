"""The git webhook path end to end: POST /apps on the real runner -> its Trigger in the API server -> a signed
GitHub push to the real EventListener -> the core interceptors (their own TLS server) check the signature,
event type, repository and branch -> TaskRun build-<app id>-<sha12> -> kwok pod -> Tekton's events controller
-> the runner records a run for the push and deploys it in ws-<workspace>. Outcomes are read from the API
server."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.kubeapi import KubeAPI, Obj, condition, poll, taskrun_path
from tests.e2e.runner import Runner
from tests.e2e.webhooks import (
    InterceptorLog,
    create_webhook_secret,
    deliver,
    new_sha,
    push_event,
    push_taskruns,
    trigger_path,
)
from tests.e2e.workspace import SUCCESSFUL, available, cloud_events_sent, image_param, new_workspace, result

pytestmark = pytest.mark.e2e

APP = "web"
BRANCH = "main"
SECRET_KEY = "secret"


@dataclass(frozen=True)
class RegisteredApp:
    id: str
    workspace: str
    repository: str
    branch: str
    secret: str
    image_repository: str

    @property
    def trigger(self) -> str:
        return f"tekton-runner-app-{self.id}"

    @property
    def repository_base(self) -> str:
        """The repository URL without .git: the CEL filter names it, so its refusals can be told apart."""
        return self.repository.removesuffix(".git")

    def push(self, sha: str, branch: str | None = None) -> dict[str, object]:
        return push_event(self.repository, branch or self.branch, sha)


@pytest.fixture
def interceptors(cluster: Cluster) -> InterceptorLog:
    return InterceptorLog(Path(cluster.env["TEKTON_RUNNER_CLUSTER_DIR"]) / "logs" / "triggers-interceptors.log")


async def wait_until_listener_runs(cluster: Cluster, app: RegisteredApp, interceptors: InterceptorLog) -> None:
    """What GitHub's ping on a new webhook is for: know that deliveries reach the app's Trigger.

    The EventListener learns about a new Trigger through its informer, a moment after the runner applied
    it. A signed push to a branch the app does not follow is re-sent until the CEL interceptor refuses it
    naming this app's repository: by then the listener runs the Trigger, and the github interceptor has
    read the webhook Secret and accepted the signature. Nothing is built for these pushes.
    """
    await interceptors.mark()

    async def refused() -> bool:
        if await interceptors.answers("Continue:false", "did not return true", app.repository_base):
            return True
        await deliver(cluster.eventlistener_url, app.push(new_sha(), branch="e2e-not-followed"), app.secret)
        return False

    await poll(f"the EventListener to run Trigger {app.trigger}", refused, 30, interval=0.5)


@pytest.fixture
async def app(cluster: Cluster, kube: KubeAPI, runner: Runner,
              interceptors: InterceptorLog) -> AsyncIterator[RegisteredApp]:
    """An app registered through POST /apps, with its webhook Secret in the build namespace and its Trigger
    running in the EventListener.

    Its Trigger is removed again at the end: every delivery runs every Trigger of the EventListener, so a
    leftover would take part in later tests.
    """
    namespace = cluster.build_namespace
    workspace = new_workspace()
    secret_name = f"e2e-webhook-{uuid.uuid4().hex[:8]}"
    secret = secrets.token_hex(32)
    repository = f"https://git.invalid/acme/{workspace}.git"
    status, body = await runner.register_app({
        "workspace": workspace,
        "app": {"name": APP, "port": 8080},
        "source": {"url": repository, "branch": BRANCH},
        "webhook": {"name": secret_name, "key": SECRET_KEY},
    })
    registered = RegisteredApp(body["id"], workspace, repository, BRANCH, secret, body["image_repository"])
    try:
        assert status == 201, body
        assert registered.id == f"{workspace}-{APP}"
        assert body["trigger"] == registered.trigger
        await create_webhook_secret(kube, namespace, secret_name, SECRET_KEY, secret)
        await wait_until_listener_runs(cluster, registered, interceptors)
        yield registered
    finally:
        await runner.delete_app(registered.id)
        await kube.delete(trigger_path(namespace, registered.trigger))
        await kube.delete(f"/api/v1/namespaces/{namespace}/secrets/{secret_name}")


async def taskrun_finished(kube: KubeAPI, namespace: str, name: str, within: float = 90) -> Obj:
    async def probe() -> Obj | None:
        obj = await kube.get(taskrun_path(namespace, name))
        cond = condition(obj, "Succeeded")
        return obj if cond and cond["status"] != "Unknown" else None
    return await poll(f"TaskRun {name} to finish", probe, within)


def param(taskrun: Obj, name: str) -> str:
    value: str = next(p["value"] for p in taskrun["spec"]["params"] if p["name"] == name)
    return value


async def test_registering_an_app_applies_its_signature_checking_trigger(
        cluster: Cluster, kube: KubeAPI, app: RegisteredApp) -> None:
    trigger = await kube.get(trigger_path(cluster.build_namespace, app.trigger))
    assert trigger is not None
    labels = trigger["metadata"]["labels"]
    assert labels["tekton-runner.io/eventlistener"] == cluster.env["TEKTON_RUNNER_EVENTLISTENER_NAME"]
    assert labels["tekton-runner.io/app-id"] == app.id
    interceptors = trigger["spec"]["interceptors"]
    assert [(i["ref"]["kind"], i["ref"]["name"]) for i in interceptors] == [
        ("ClusterInterceptor", "github"), ("ClusterInterceptor", "cel")]
    github_params = {p["name"]: p["value"] for p in interceptors[0]["params"]}
    assert github_params["secretRef"]["secretKey"] == SECRET_KEY
    assert github_params["eventTypes"] == ["push"]


async def test_signed_push_to_the_registered_branch_is_built_and_deployed(
        cluster: Cluster, kube: KubeAPI, runner: Runner, app: RegisteredApp) -> None:
    namespace = cluster.build_namespace
    assert await kube.get(trigger_path(namespace, app.trigger)) is not None
    sha = new_sha()
    await deliver(cluster.eventlistener_url, app.push(sha), app.secret)

    name = f"build-{app.id}-{sha[:12]}"
    taskrun = await poll(f"TaskRun {name}", lambda: kube.get(taskrun_path(namespace, name)), 60)
    labels = taskrun["metadata"]["labels"]
    assert labels["tekton-runner.io/app-id"] == app.id
    assert labels["tekton-runner.io/git-revision"] == sha
    assert labels["tekton-runner.io/trigger"] == "git-push"
    assert (labels["tekton-runner.io/workspace"], labels["tekton-runner.io/app"]) == (app.workspace, APP)
    assert "tekton-runner.io/run-id" not in labels
    assert (param(taskrun, "GIT_URL"), param(taskrun, "GIT_REVISION")) == (app.repository, sha)
    assert image_param(taskrun) == f"{app.image_repository}:{sha}"

    done = await taskrun_finished(kube, namespace, name)
    assert (condition(done, "Succeeded") or {}).get("status") == "True", done["status"]
    digest = result(done, "IMAGE_DIGEST")
    assert digest and digest.startswith("sha256:")

    async def recorded() -> list[dict[str, object]] | None:
        async with runner.session.get(f"{runner.base_url}/runs",
                                      params={"workspace": app.workspace, "app": APP}) as resp:
            assert resp.status == 200
            runs: list[dict[str, object]] = (await resp.json())["runs"]
            return runs or None

    runs = await poll(f"a run for the push to {app.id}", recorded, 60)
    assert len(runs) == 1, runs
    run_id = str(runs[0]["run_id"])
    run = await runner.wait_terminal(run_id)
    assert run["state"] == "succeeded", run
    assert run["taskrun_uid"] == done["metadata"]["uid"]
    assert run["spec"]["source"]["revision"] == sha
    assert run["spec"]["source"]["url"] == app.repository
    assert run["deployed_image"] == f"{app.image_repository}@{digest}"
    # Tekton's events controller delivered the completion event, and the runner took it (the resync may have
    # finished the run first, so both are waited for rather than expected at once).
    await poll(f"a CloudEventSent event for {SUCCESSFUL} on {name}",
               lambda: cloud_events_sent(kube, namespace, name, SUCCESSFUL), 30)
    await poll(f"the runner to accept {SUCCESSFUL}", lambda: runner.events_counted(SUCCESSFUL, "accepted"), 30)
    refused = [e["message"] for e in await kube.events_for(namespace, "TaskRun", name)
               if e.get("reason") == "CloudEventFailed"]
    assert refused == [], f"the runner refused Tekton's events for {name}: {refused}"

    deployed = await available(kube, f"ws-{app.workspace}", APP)
    assert deployed["metadata"]["labels"]["tekton-runner.io/run-id"] == run_id
    images = [c["image"] for c in deployed["spec"]["template"]["spec"]["containers"]]
    assert images == [f"{app.image_repository}@{digest}"]


async def test_pushes_to_other_branches_or_wrongly_signed_build_nothing(
        cluster: Cluster, kube: KubeAPI, app: RegisteredApp, interceptors: InterceptorLog) -> None:
    namespace, url = cluster.build_namespace, cluster.eventlistener_url
    await interceptors.mark()
    # refused by the CEL interceptor (repository and branch filter)
    await deliver(url, app.push(new_sha(), branch="feature"), app.secret)
    await deliver(url, push_event(app.repository, app.branch, new_sha(), deleted=True), app.secret)
    await deliver(url, push_event("https://git.invalid/acme/someone-else.git", app.branch, new_sha()), app.secret)
    # refused by the github interceptor (signature and event type)
    await deliver(url, app.push(new_sha()), "not-" + app.secret)
    await deliver(url, app.push(new_sha()), None)
    await deliver(url, app.push(new_sha()), app.secret, event="ping")

    # The listener answers 202 before it runs the Triggers: wait until the interceptors gave every refusal.
    await interceptors.wait_for("CEL refusals of the other branch, the deletion and the other repository",
                                "Continue:false", "did not return true", app.repository_base, count=3)
    await interceptors.wait_for("refusal of the wrong signature", "Continue:false",
                                "payload signature check failed")
    await interceptors.wait_for("refusal of the unsigned delivery", "Continue:false",
                                "no X-Hub-Signature-256 header set")
    await interceptors.wait_for("refusal of the ping", "Continue:false", "event type ping is not allowed")

    # Positive control: the same Trigger builds a good push sent after those, and only that one.
    good = new_sha()
    await deliver(url, app.push(good), app.secret)
    good_name = f"build-{app.id}-{good[:12]}"
    await poll(f"TaskRun {good_name}", lambda: kube.get(taskrun_path(namespace, good_name)), 60)
    names = [t["metadata"]["name"] for t in await push_taskruns(kube, namespace, app.id)]
    assert names == [good_name]


async def test_deleting_an_app_removes_its_trigger(
        cluster: Cluster, kube: KubeAPI, runner: Runner, app: RegisteredApp) -> None:
    path = trigger_path(cluster.build_namespace, app.trigger)
    assert await kube.get(path) is not None
    assert await runner.delete_app(app.id) == 200
    assert await kube.get(path) is None
    assert await runner.app_status(app.id) == 404
    assert await runner.delete_app(app.id) == 404
