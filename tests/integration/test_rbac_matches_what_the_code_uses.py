"""The runner's role (deploy/rbac.yaml) grants exactly what the runner's code uses: every (verb, resource)
its requests need, taken from the fake API server while the real flows run, and nothing else."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.faults import RecordedRequest
from tests.fakes.paths import ResourcePath, parse
from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.pods import put_build_pod, put_pod
from tests.integration.replicas import RUNNER_NS, leadership, replicas
from tests.integration.simulation import PodReport, waiting
from tests.integration.test_git_push_to_registered_app_deploys import REGISTRATION

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
Grant = tuple[str, str, str, str]  # (scope: "cluster", "build" or "runner", verb, api group, resource[/subresource])
_VERBS = {"GET": "get", "DELETE": "delete", "POST": "create", "PUT": "update"}


def granted(objects: list[dict[str, Any]]) -> set[Grant]:
    """(scope, verb, group, resource) for every rule; a Role must be in the build or the Lease's namespace."""
    grants: set[Grant] = set()
    scopes = {runner_setting(objects, "TEKTON_RUNNER_BUILD_NAMESPACE"): "build",
              runner_setting(objects, "TEKTON_RUNNER_LEASE_NAMESPACE"): "runner"}
    for obj in objects:
        if obj["kind"] not in ("ClusterRole", "Role"):
            continue
        scope = "cluster" if obj["kind"] == "ClusterRole" else scopes[obj["metadata"]["namespace"]]
        for rule in obj.get("rules", []):
            assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    grants.update((scope, verb, group, resource) for verb in rule["verbs"])
    return grants


def needed(request: RecordedRequest, existing: bool) -> set[Grant]:
    """What the API server authorizes for one request (server-side apply of a new object is also a create)."""
    address = parse(request.path)
    if not isinstance(address, ResourcePath):
        return set()  # /version and discovery: public to every authenticated client
    resource = address.plural + (f"/{address.subresource}" if address.subresource else "")
    scope = {BUILD_NS: "build", RUNNER_NS: "runner"}.get(address.namespace or "", "cluster")
    if request.method == "GET":
        verbs = {"get" if address.name else "list"}
    elif request.is_apply:
        verbs = {"patch"} if existing else {"patch", "create"}
    elif request.method == "PATCH":
        verbs = {"patch"}
    else:
        verbs = {_VERBS[request.method]}
    return {(scope, verb, address.group, resource) for verb in verbs}


def used(requests: Iterable[RecordedRequest]) -> set[Grant]:
    grants: set[Grant] = set()
    for request in requests:
        grants |= needed(request, existing=request.status == 200)  # an apply answered 201 created the object
    return grants


def runner_setting(objects: list[dict[str, Any]], name: str) -> str:
    """A setting of the runner as deploy/ gives it: its settings ConfigMap, common/settings.env applied."""
    (config,) = [obj for obj in objects if obj["kind"] == "ConfigMap"
                 and obj["metadata"]["name"].startswith("tekton-runner-settings-")]
    value: str = config["data"][name]
    return value


def role_objects() -> list[dict[str, Any]]:
    built = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


async def _every_flow(harness: Harness) -> None:
    """Each thing the runner does to a cluster at least once (namespace provisioner, as deploy/ runs it)."""
    harness.fake.put_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
                             "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
    await harness.stop()
    await harness.start(node_address=None, workspaces={"registry_username": "robot", "registry_password": "s3cret"})
    first = await harness.run_to_success(spec())  # workspace, dependency, migration, app, node address
    harness.controllers.pods["redis"] = PodReport(waiting("ErrImagePull", "lookup harbor.test: no such host"))
    stuck = await harness.run_after_build(spec())  # a dependency's pods are read: one cannot pull its image
    harness.controllers.pods.clear()
    assert (await harness.http.post(f"/runs/{stuck['run_id']}/redeploy")).status == 202  # deletes that pod
    await harness.settle()
    failing = (await harness.post_run(spec()))["run_id"]  # a failed migration: its Pod's log is read
    job = f"shop-migrate-{failing[2:10]}"
    harness.controllers.failing_jobs.add(job)
    harness.fake.put_object({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"{job}-x1", "namespace": "ws-demo", "labels": {"job-name": job}}})
    harness.fake.set_pod_log("ws-demo", f"{job}-x1", "boom\n")
    await harness.send_event(harness.finish_taskrun(failing), "successful")
    await harness.settle()
    assert (await harness.run(failing))["state"] == "failed"
    building = (await harness.post_run(spec(app={"name": "other", "port": 8080})))["run_id"]
    await harness.orchestrator.resync()  # lists the TaskRuns of live runs
    await _read_logs(harness, first["run_id"])
    for run_id in (first["run_id"], failing, building):  # the newer run owns the shared Secret: both are deleted
        assert (await harness.http.delete(f"/runs/{run_id}")).status == 200  # TaskRun and owned objects
    assert (await harness.http.get("/workspaces")).status == 200  # lists namespaces
    assert (await harness.http.delete("/workspaces/demo")).status == 200  # deletes the namespace
    assert (await harness.http.post("/apps", json=REGISTRATION)).status in (200, 201)  # applies a Trigger
    assert (await harness.http.delete("/apps/demo-shop")).status == 200  # deletes it
    await _elect(harness)


async def _elect(harness: Harness) -> None:
    """With election on: the Lease is read, created, and at a clean stop released by an update."""
    (replica,) = await replicas(harness, 1)
    assert leadership(replica).leading
    await replica.stop()


async def _read_logs(harness: Harness, run_id: str) -> None:
    """GET /runs/{id}/logs of each step: the build pod (found by label) and the workspace pods, and their logs."""
    harness.fake.set_status("taskruns", f"build-{run_id}", {"podName": ""}, namespace=BUILD_NS, merge=True)
    put_build_pod(harness.fake, run_id, with_pod_name=False)  # listed by its TaskRun label, then read
    put_pod(harness.fake, "ws-demo", "shop-1", ("app",),
            labels={"tekton-runner.io/run-id": run_id, "app.kubernetes.io/component": "app"})
    for step in ("build", "app"):
        assert (await harness.http.get(f"/runs/{run_id}/logs", params={"step": step})).status == 200, step


async def test_the_role_grants_what_the_flows_use_and_nothing_more(harness: Harness) -> None:
    await _every_flow(harness)
    use = used(harness.fake.requests)
    grants = granted(role_objects())
    assert not use - grants, f"used but not granted: {sorted(use - grants)}"
    assert not grants - use, f"granted but never used: {sorted(grants - use)}"


def test_the_role_is_bound_to_the_runners_service_account() -> None:
    objects = role_objects()
    roles = {(obj["kind"], obj["metadata"]["name"]) for obj in objects if obj["kind"] in ("ClusterRole", "Role")}
    bound = {(obj["roleRef"]["kind"], obj["roleRef"]["name"]) for obj in objects
             if obj["kind"] in ("ClusterRoleBinding", "RoleBinding")}
    assert roles == bound
    subjects = {(s["kind"], s["name"], s["namespace"]) for obj in objects if "subjects" in obj for s in obj["subjects"]}
    assert subjects == {("ServiceAccount", "tekton-runner", "tekton-runner")}
    deployment = next(obj for obj in objects if obj["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "tekton-runner"
