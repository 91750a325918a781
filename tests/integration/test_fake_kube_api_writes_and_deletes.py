"""Create, patch, replace and delete on the fake answer like the real API server, conflicts included."""

from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi
from tests.fakes.fixtures import status_body

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test
# kubernetes_asyncio 36 accepts _content_type at runtime; its type stubs do not declare it.

# A plain dict, as the product sends; the stubs ask for V1Service but the client serialises either.
SERVICE: Any = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "shop", "labels": {"app": "shop"}},
    "spec": {"type": "NodePort", "selector": {"app": "shop"}, "ports": [{"name": "http", "port": 8080}]},
}


async def test_creating_an_existing_object_is_a_409_already_exists(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    await core.create_namespaced_service("ws-demo", SERVICE)

    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_service("ws-demo", SERVICE)

    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "AlreadyExists"
    assert len(fake_kube.objects("Service", "ws-demo")) == 1


async def test_deleting_a_missing_object_is_a_404(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    fake_kube.add_namespace("ws-demo")
    with pytest.raises(ApiException) as caught:
        await client.BatchV1Api(fake_kube_client).delete_namespaced_job("migrate", "ws-demo")
    assert caught.value.status == 404
    assert status_body(caught.value)["reason"] == "NotFound"


async def test_delete_accepts_propagation_policy_in_query_and_body(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    for name in ("one", "two"):
        fake_kube.put_object(
            {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "ws-demo"}}
        )
    batch = client.BatchV1Api(fake_kube_client)

    status = await batch.delete_namespaced_job("one", "ws-demo", propagation_policy="Foreground")
    await batch.delete_namespaced_job("two", "ws-demo", body=client.V1DeleteOptions(propagation_policy="Background"))

    assert status.status == "Success"
    assert fake_kube.objects("Job", "ws-demo") == []
    deletes = fake_kube.requests_to("DELETE")
    assert deletes[0].query["propagationPolicy"] == "Foreground"
    assert deletes[1].data["propagationPolicy"] == "Background"


async def test_deleting_a_namespace_removes_its_objects(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.add_namespace("ws-keep")
    core = client.CoreV1Api(fake_kube_client)
    await core.create_namespaced_service("ws-demo", SERVICE)
    await core.create_namespaced_service("ws-keep", SERVICE)

    await core.delete_namespace("ws-demo")

    assert [ns["metadata"]["name"] for ns in fake_kube.objects("Namespace")] == ["ws-keep"]
    assert [svc["metadata"]["namespace"] for svc in fake_kube.objects("Service")] == ["ws-keep"]


async def test_delete_collection_by_label(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    fake_kube.add_namespace("ws-demo")
    for name, run in (("a", "r1"), ("b", "r2")):
        fake_kube.put_object(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "ws-demo", "labels": {"run": run}},
            }
        )

    await client.CoreV1Api(fake_kube_client).delete_collection_namespaced_config_map("ws-demo", label_selector="run=r1")

    assert [cm["metadata"]["name"] for cm in fake_kube.objects("ConfigMap")] == ["b"]


async def test_merge_patch_replaces_lists_and_null_deletes(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    await core.create_namespaced_service("ws-demo", SERVICE)
    patch = {"metadata": {"labels": {"app": None, "v": "2"}}, "spec": {"ports": [{"name": "x", "port": 1}]}}

    await core.patch_namespaced_service(  # type: ignore[call-arg]
        "shop", "ws-demo", patch, _content_type="application/merge-patch+json"
    )

    stored = fake_kube.get_object("Service", "shop", "ws-demo")
    assert stored is not None
    assert stored["metadata"]["labels"] == {"v": "2"}
    assert stored["spec"]["ports"] == [{"name": "x", "port": 1}]


async def test_strategic_merge_merges_named_list_items(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    await core.create_namespaced_service("ws-demo", SERVICE)
    patch = {"spec": {"ports": [{"name": "metrics", "port": 9090}, {"name": "http", "nodePort": 31000}]}}

    # A dict body makes kubernetes_asyncio pick application/strategic-merge-patch+json by itself.
    await core.patch_namespaced_service("shop", "ws-demo", patch)

    stored = fake_kube.get_object("Service", "shop", "ws-demo")
    assert stored is not None
    assert stored["spec"]["ports"] == [
        {"name": "http", "port": 8080, "nodePort": 31000},
        {"name": "metrics", "port": 9090},
    ]
    assert fake_kube.requests[-1].content_type == "application/strategic-merge-patch+json"


async def test_custom_resources_refuse_strategic_merge_but_take_json_patch(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.put_object(
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "TaskRun",
            "metadata": {"name": "build", "namespace": "ws-demo"},
            "spec": {"timeout": "1h"},
        }
    )
    custom = client.CustomObjectsApi(fake_kube_client)
    args = ("tekton.dev", "v1", "ws-demo", "taskruns", "build")

    with pytest.raises(ApiException) as caught:
        await custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            *args, {"spec": {"timeout": "2h"}}, _content_type="application/strategic-merge-patch+json"
        )
    patched = await custom.patch_namespaced_custom_object(
        *args, [{"op": "replace", "path": "/spec/timeout", "value": "2h"}]
    )

    assert caught.value.status == 415
    assert patched["spec"] == {"timeout": "2h"}


async def test_replace_with_a_stale_resource_version_is_a_409_conflict(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    created = await core.create_namespaced_service("ws-demo", SERVICE)
    await core.patch_namespaced_service("shop", "ws-demo", {"metadata": {"labels": {"bump": "1"}}})
    created.metadata.labels = {"stale": "yes"}

    with pytest.raises(ApiException) as caught:
        await core.replace_namespaced_service("shop", "ws-demo", created)

    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "Conflict"


async def test_create_into_a_missing_namespace_is_a_404_unless_relaxed(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(fake_kube_client)
    with pytest.raises(ApiException) as caught:
        await core.create_namespaced_service("ws-missing", SERVICE)
    fake_kube.store.require_namespaces = False
    await core.create_namespaced_service("ws-missing", SERVICE)

    assert caught.value.status == 404
    assert [svc["metadata"]["namespace"] for svc in fake_kube.objects("Service")] == ["ws-missing"]


async def test_malformed_bodies_and_dry_runs_are_rejected_with_a_400(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    not_an_object: Any = ["not", "an", "object"]

    with pytest.raises(ApiException) as malformed:
        await core.create_namespaced_service("ws-demo", not_an_object)
    with pytest.raises(ApiException) as dry_run:
        await core.create_namespaced_service("ws-demo", SERVICE, dry_run="All")

    assert (malformed.value.status, dry_run.value.status) == (400, 400)
    assert fake_kube.objects("Service") == []
