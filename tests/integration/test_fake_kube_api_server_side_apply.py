"""Server-side apply through kubernetes_asyncio creates, updates and records field managers on the fake."""

from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi
from tests.fakes.fixtures import status_body

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test
# kubernetes_asyncio 36 accepts _content_type at runtime; its type stubs do not declare it.

APPLY = "application/apply-patch+yaml"
MANAGER = "tekton-runner"


def deployment(image: str, env: dict[str, str]) -> dict[str, Any]:
    container = {"name": "app", "image": image, "env": [{"name": k, "value": v} for k, v in env.items()]}
    pod = {"metadata": {"labels": {"app": "shop"}}, "spec": {"containers": [container]}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "shop", "labels": {"tekton-runner.io/run-id": "r1"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}}, "template": pod},
    }


async def apply_raw(api_client: client.ApiClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The generic apply the product's kube layer uses: any kind, core or grouped, through call_api."""
    result: dict[str, Any] = await api_client.call_api(
        path,
        "PATCH",
        query_params=[("fieldManager", MANAGER), ("force", "true")],
        header_params={"Content-Type": APPLY, "Accept": "application/json"},
        body=body,
        response_types_map={200: "object", 201: "object"},
        auth_settings=["BearerToken"],
        _return_http_data_only=True,
    )
    return result


async def test_apply_creates_then_updates_with_server_metadata(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    path = "/apis/apps/v1/namespaces/ws-demo/deployments/shop"

    created = await apply_raw(fake_kube_client, path, deployment("shop@sha256:aaa", {"A": "1"}))
    updated = await apply_raw(fake_kube_client, path, deployment("shop@sha256:bbb", {"A": "1"}))

    assert created["metadata"]["uid"] == updated["metadata"]["uid"]
    assert created["metadata"]["creationTimestamp"]
    assert (created["metadata"]["generation"], updated["metadata"]["generation"]) == (1, 2)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["spec"]["template"]["spec"]["containers"][0]["image"] == "shop@sha256:bbb"
    assert [entry["manager"] for entry in updated["metadata"]["managedFields"]] == [MANAGER]
    assert [request.status for request in fake_kube.applies("Deployment", "shop")] == [201, 200]


async def test_reapplying_the_same_object_changes_nothing(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    path = "/apis/apps/v1/namespaces/ws-demo/deployments/shop"

    first = await apply_raw(fake_kube_client, path, deployment("shop:1", {"A": "1"}))
    again = await apply_raw(fake_kube_client, path, deployment("shop:1", {"A": "1"}))

    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["metadata"]["generation"] == 1


async def test_apply_keeps_status_and_fields_of_other_writers(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    path = "/apis/apps/v1/namespaces/ws-demo/deployments/shop"
    await apply_raw(fake_kube_client, path, deployment("shop:1", {}))
    fake_kube.set_status("Deployment", "shop", {"readyReplicas": 1}, namespace="ws-demo")
    annotate = {"metadata": {"annotations": {"seen-by": "someone-else"}}}
    await client.AppsV1Api(fake_kube_client).patch_namespaced_deployment("shop", "ws-demo", annotate)

    applied = await apply_raw(fake_kube_client, path, {**deployment("shop:2", {}), "status": {"readyReplicas": 9}})

    assert applied["status"] == {"readyReplicas": 1}
    assert applied["metadata"]["annotations"] == {"seen-by": "someone-else"}


async def test_fields_the_manager_stops_applying_are_removed(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    path = "/apis/apps/v1/namespaces/ws-demo/deployments/shop"
    with_labels = deployment("shop:1", {"A": "1", "B": "2"})
    with_labels["metadata"]["labels"]["old"] = "yes"
    await apply_raw(fake_kube_client, path, with_labels)

    applied = await apply_raw(fake_kube_client, path, deployment("shop:1", {"A": "1"}))

    assert applied["metadata"]["labels"] == {"tekton-runner.io/run-id": "r1"}
    assert applied["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


async def test_typed_patch_methods_apply_with_content_type_override(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}
    apps = client.AppsV1Api(fake_kube_client)

    applied_cm = await client.CoreV1Api(fake_kube_client).patch_namespaced_config_map(  # type: ignore[call-arg]
        "cfg", "ws-demo", config_map, field_manager=MANAGER, force=True, _content_type=APPLY
    )
    created = await apps.patch_namespaced_deployment(  # type: ignore[call-arg]
        "shop", "ws-demo", deployment("shop:1", {}), field_manager=MANAGER, force=True, _content_type=APPLY
    )

    assert applied_cm.data == {"k": "v"}
    assert created.metadata.generation == 1
    recorded = fake_kube.applies()
    assert [(r.query["fieldManager"], r.query["force"].lower()) for r in recorded] == [(MANAGER, "true")] * 2
    assert recorded[0].data == config_map


async def test_custom_objects_apply_returns_none_when_it_creates(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    """kubernetes_asyncio 36 maps only 200 for CustomObjectsApi patches; a create answers 201 (as the real
    server does), so the call returns None. Use call_api with a 201 mapping when the result matters."""
    fake_kube.add_namespace("ws-demo")
    task_run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": "build-r1"},
        "spec": {},
    }
    custom = client.CustomObjectsApi(fake_kube_client)

    def apply() -> Any:
        return custom.patch_namespaced_custom_object(  # type: ignore[call-arg]
            "tekton.dev", "v1", "ws-demo", "taskruns", "build-r1", task_run,
            field_manager=MANAGER, force=True, _content_type=APPLY,
        )  # fmt: skip

    on_create = await apply()
    on_update = await apply()

    assert on_create is None
    assert on_update["metadata"]["name"] == "build-r1"
    assert [obj["metadata"]["name"] for obj in fake_kube.objects("taskruns.tekton.dev", "ws-demo")] == ["build-r1"]


async def test_each_object_is_applied_exactly_once_is_assertable(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-db"}, "stringData": {"u": "x"}}
    await apply_raw(fake_kube_client, "/api/v1/namespaces/ws-demo/secrets/shop-db", secret)
    await apply_raw(fake_kube_client, "/apis/apps/v1/namespaces/ws-demo/deployments/shop", deployment("s:1", {}))

    applied = [(request.path.rsplit("/", 2)[-2], request.query["fieldManager"]) for request in fake_kube.applies()]
    assert sorted(applied) == [("deployments", MANAGER), ("secrets", MANAGER)]


async def test_apply_without_field_manager_is_rejected(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
    with pytest.raises(ApiException) as caught:
        await client.CoreV1Api(fake_kube_client).patch_namespaced_config_map(  # type: ignore[call-arg]
            "cfg", "ws-demo", config_map, _content_type=APPLY
        )
    assert caught.value.status == 400
    assert fake_kube.objects("ConfigMap") == []


async def test_apply_into_a_missing_namespace_is_a_404(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    with pytest.raises(ApiException) as caught:
        await apply_raw(fake_kube_client, "/apis/apps/v1/namespaces/ws-nope/deployments/shop", deployment("s", {}))
    assert caught.value.status == 404
    assert status_body(caught.value)["message"] == 'namespaces "ws-nope" not found'
    assert fake_kube.objects("Deployment") == []


async def test_apply_of_an_unregistered_kind_registers_it(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 2},
    }

    await apply_raw(fake_kube_client, "/apis/example.com/v1/namespaces/ws-demo/widgets/w", widget)
    listed = await client.CustomObjectsApi(fake_kube_client).list_namespaced_custom_object(
        "example.com", "v1", "ws-demo", "widgets"
    )

    assert [(item["kind"], item["spec"]) for item in listed["items"]] == [("Widget", {"size": 2})]
