"""Tests set TaskRun, Job and Deployment status on the fake, by client or helper, without touching spec."""

from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test
# kubernetes_asyncio 36 accepts _content_type at runtime; its type stubs do not declare it.

SUCCEEDED = {
    "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded", "message": "All Steps completed"}],
    "completionTime": "2026-01-01T00:01:00Z",
    "results": [{"name": "IMAGE_DIGEST", "type": "string", "value": "sha256:abc"}],
}


def seed(fake: FakeKubeApi) -> None:
    pod = {
        "metadata": {"labels": {"app": "shop"}},
        "spec": {"containers": [{"name": "app", "image": "shop:1"}]},
    }
    fake.add_namespace("ws-demo")
    fake.put_object(
        {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "spec": {"timeout": "1h"},
         "metadata": {"name": "build-r1", "namespace": "ws-demo"}}
    )  # fmt: skip
    fake.put_object(
        {"apiVersion": "batch/v1", "kind": "Job", "spec": {"backoffLimit": 0, "template": pod},
         "metadata": {"name": "migrate-r1", "namespace": "ws-demo"}}
    )  # fmt: skip
    fake.put_object(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "ws-demo"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}}, "template": pod}}
    )  # fmt: skip


async def test_taskrun_status_patched_through_custom_objects_api(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    seed(fake_kube)
    before = fake_kube.get_object("TaskRun", "build-r1", "ws-demo")
    custom = client.CustomObjectsApi(fake_kube_client)

    await custom.patch_namespaced_custom_object_status(  # type: ignore[call-arg]
        "tekton.dev", "v1", "ws-demo", "taskruns", "build-r1", {"status": SUCCEEDED},
        _content_type="application/merge-patch+json",
    )  # fmt: skip
    read: dict[str, Any] = await custom.get_namespaced_custom_object_status(
        "tekton.dev", "v1", "ws-demo", "taskruns", "build-r1"
    )

    assert before is not None
    assert read["status"] == SUCCEEDED
    assert read["spec"] == {"timeout": "1h"}
    assert read["metadata"]["generation"] == before["metadata"]["generation"]
    assert int(read["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


async def test_custom_object_dict_patch_needs_an_explicit_merge_content_type(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    """kubernetes_asyncio 36 sends dict bodies of CustomObjectsApi patches as JSON patches; servers refuse."""
    seed(fake_kube)
    custom = client.CustomObjectsApi(fake_kube_client)
    args = ("tekton.dev", "v1", "ws-demo", "taskruns", "build-r1", {"status": SUCCEEDED})

    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object_status(*args)

    assert caught.value.status == 400
    assert fake_kube.requests[-1].content_type == "application/json-patch+json"


async def test_job_status_replaced_through_batch_api(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    seed(fake_kube)
    batch = client.BatchV1Api(fake_kube_client)
    job = await batch.read_namespaced_job("migrate-r1", "ws-demo")
    job.status = client.V1JobStatus(
        failed=1,
        conditions=[client.V1JobCondition(type="Failed", status="True", reason="BackoffLimitExceeded")],
    )

    await batch.replace_namespaced_job_status("migrate-r1", "ws-demo", job)
    read = await batch.read_namespaced_job_status("migrate-r1", "ws-demo")

    assert read.status.failed == 1
    assert [(c.type, c.reason) for c in read.status.conditions] == [("Failed", "BackoffLimitExceeded")]
    assert read.spec.backoff_limit == 0


async def test_status_writes_ignore_everything_but_status(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    seed(fake_kube)
    patch = {"spec": {"replicas": 5}, "status": {"readyReplicas": 1, "replicas": 1}}

    await client.AppsV1Api(fake_kube_client).patch_namespaced_deployment_status(  # type: ignore[call-arg]
        "shop", "ws-demo", patch, _content_type="application/merge-patch+json"
    )

    stored = fake_kube.get_object("Deployment", "shop", "ws-demo")
    assert stored is not None
    assert stored["spec"]["replicas"] == 1
    assert stored["status"] == {"readyReplicas": 1, "replicas": 1}


async def test_set_status_helper_is_visible_to_the_client(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    seed(fake_kube)
    fake_kube.set_status("jobs.batch", "migrate-r1", {"succeeded": 1}, namespace="ws-demo")
    fake_kube.set_status(
        "Job", "migrate-r1", {"completionTime": "2026-01-01T00:00:00Z"}, namespace="ws-demo", merge=True
    )
    fake_kube.set_status("taskruns.tekton.dev", "build-r1", SUCCEEDED, namespace="ws-demo")

    job = await client.BatchV1Api(fake_kube_client).read_namespaced_job("migrate-r1", "ws-demo")
    listed = await client.CustomObjectsApi(fake_kube_client).list_namespaced_custom_object(
        "tekton.dev", "v1", "ws-demo", "taskruns"
    )

    assert job.status.succeeded == 1 and job.status.completion_time is not None
    assert listed["items"][0]["status"]["results"][0]["value"] == "sha256:abc"


async def test_status_subresource_of_a_cluster_scoped_namespace(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")

    await client.CoreV1Api(fake_kube_client).patch_namespace_status(  # type: ignore[call-arg]
        "ws-demo", {"status": {"phase": "Active"}}, _content_type="application/merge-patch+json"
    )
    read = await client.CoreV1Api(fake_kube_client).read_namespace_status("ws-demo")

    assert read.status.phase == "Active"
