"""The fake Kubernetes API answers reads, selectors and discovery the way kubernetes_asyncio expects."""

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi
from tests.fakes.fixtures import status_body

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test


def seed_secrets(fake: FakeKubeApi) -> None:
    fake.add_namespace("ws-demo")
    fake.add_namespace("ws-other")
    for name, labels in [
        ("a", {"app": "shop", "tier": "web"}),
        ("b", {"app": "shop", "tier": "db"}),
        ("c", {"app": "blog"}),
        ("d", {}),
    ]:
        fake.put_object(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "ws-demo", "labels": labels},
            }
        )
    fake.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "elsewhere", "namespace": "ws-other", "labels": {"app": "shop"}},
        }
    )


async def test_missing_object_is_a_404_status_like_the_real_server(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    with pytest.raises(ApiException) as caught:
        await client.AppsV1Api(fake_kube_client).read_namespaced_deployment("shop", "ws-demo")

    assert caught.value.status == 404
    body = status_body(caught.value)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert (body["status"], body["reason"], body["code"]) == ("Failure", "NotFound", 404)
    assert body["message"] == 'deployments.apps "shop" not found'


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=shop", ["a", "b"]),
        ("app==shop,tier=db", ["b"]),
        ("app in (shop,blog)", ["a", "b", "c"]),
        ("app in (blog), tier notin (db)", ["c"]),
        ("app!=shop", ["c", "d"]),
        ("tier", ["a", "b"]),
        ("!app", ["d"]),
    ],
)
async def test_list_filters_by_label_selector(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient, selector: str, expected: list[str]
) -> None:
    seed_secrets(fake_kube)
    listed = await client.CoreV1Api(fake_kube_client).list_namespaced_secret("ws-demo", label_selector=selector)
    assert [item.metadata.name for item in listed.items] == expected


async def test_list_across_namespaces_and_by_field_selector(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    seed_secrets(fake_kube)
    core = client.CoreV1Api(fake_kube_client)

    everywhere = await core.list_secret_for_all_namespaces(label_selector="app=shop")
    by_name = await core.list_namespaced_secret("ws-demo", field_selector="metadata.name=c")

    assert sorted(item.metadata.name for item in everywhere.items) == ["a", "b", "elsewhere"]
    assert [item.metadata.name for item in by_name.items] == ["c"]
    assert int(everywhere.metadata.resource_version) >= 1000


async def test_malformed_selector_is_a_400(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    seed_secrets(fake_kube)
    with pytest.raises(ApiException) as caught:
        await client.CoreV1Api(fake_kube_client).list_namespaced_secret("ws-demo", label_selector="a in (b")
    assert caught.value.status == 400


async def test_cluster_scoped_kinds_are_listed_and_read_without_namespace(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "lenovo", "labels": {"kubernetes.io/os": "linux"}},
        }
    )
    fake_kube.add_namespace("ws-demo", labels={"tekton-runner.io/workspace": "demo"})
    core = client.CoreV1Api(fake_kube_client)

    nodes = await core.list_node(label_selector="kubernetes.io/os=linux")
    namespace = await core.read_namespace("ws-demo")

    assert [node.metadata.name for node in nodes.items] == ["lenovo"]
    assert namespace.metadata.labels == {"tekton-runner.io/workspace": "demo"}


async def test_unknown_resource_types_list_empty(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    listed = await client.CustomObjectsApi(fake_kube_client).list_cluster_custom_object("example.com", "v1", "widgets")
    assert listed["items"] == []


async def test_discovery_documents_are_served(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    version = await client.VersionApi(fake_kube_client).get_code()
    core_versions = await client.CoreApi(fake_kube_client).get_api_versions()
    groups = await client.ApisApi(fake_kube_client).get_api_versions()
    core_resources = await client.CoreV1Api(fake_kube_client).get_api_resources()
    apps_resources = await client.AppsV1Api(fake_kube_client).get_api_resources()

    assert version.major == "1"
    assert core_versions.versions == ["v1"]
    assert {"apps", "batch", "tekton.dev"} <= {group.name for group in groups.groups}
    assert {"namespaces", "secrets", "pods/log"} <= {resource.name for resource in core_resources.resources}
    assert "deployments/status" in {resource.name for resource in apps_resources.resources}


async def test_pod_log_is_served_as_text(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.put_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "migrate-x", "namespace": "ws-demo"}})
    fake_kube.set_pod_log("ws-demo", "migrate-x", "applied 3 migrations\n")

    text = await client.CoreV1Api(fake_kube_client).read_namespaced_pod_log("migrate-x", "ws-demo")

    assert text == "applied 3 migrations\n"
