"""The fixture's kubeconfig drives a real client, and the seeding and inspection helpers see the same state."""

from pathlib import Path

import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi, ResourceType
from tests.fakes.fixtures import real_api_client, status_body

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test


@pytest.mark.allow_blocking  # the client's own file loader reads inside the loop; that is what is tested
async def test_kubeconfig_from_the_fixture_loads_with_load_kube_config(
    fake_kube: FakeKubeApi, fake_kubeconfig: Path
) -> None:
    configuration = client.Configuration()
    # This call stats and reads the file inside the event loop: blockbuster, if enabled, flags it (in any
    # thread's loop). real_api_client shows the non-blocking way: read in a thread, load_kube_config_from_dict.
    await config.load_kube_config(config_file=str(fake_kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        version = await client.VersionApi(api_client).get_code()

    assert configuration.host == fake_kube.url
    assert version.git_version.endswith("-fake")
    assert fake_kube.requests[-1].headers["Authorization"] == "Bearer fake-kube-token"


async def test_seeded_objects_get_server_metadata(fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient) -> None:
    fake_kube.add_namespace("ws-demo")
    seeded = fake_kube.put_object(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ws-demo"}}
    )

    read = await client.CoreV1Api(fake_kube_client).read_namespaced_secret("s", "ws-demo")

    assert read.metadata.uid == seeded["metadata"]["uid"]
    assert read.metadata.resource_version == seeded["metadata"]["resourceVersion"]
    assert read.metadata.creation_timestamp is not None


async def test_helpers_accept_kind_plural_or_qualified_plural(fake_kube: FakeKubeApi) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.put_object(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ws-demo"}}
    )

    names = [
        [obj["metadata"]["name"] for obj in fake_kube.objects(spelling, "ws-demo")]
        for spelling in ("Deployment", "deployments", "deployments.apps")
    ]

    assert names == [["d"], ["d"], ["d"]]
    assert fake_kube.objects("Deployment", "ws-other") == []
    assert fake_kube.get_object("Deployment", "missing", "ws-demo") is None


async def test_core_and_events_api_events_are_separate_kinds(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    ref = client.V1ObjectReference(kind="Deployment", name="shop", namespace="ws-demo")
    core_event = client.CoreV1Event(metadata=client.V1ObjectMeta(name="e1"), involved_object=ref, reason="Deployed")

    await client.CoreV1Api(fake_kube_client).create_namespaced_event("ws-demo", core_event)
    listed = await client.EventsV1Api(fake_kube_client).list_namespaced_event("ws-demo")

    assert [event["reason"] for event in fake_kube.objects("Event", "ws-demo")] == ["Deployed"]
    assert listed.items == []


async def test_registered_cluster_scoped_custom_kind_is_served(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.register(ResourceType("example.com", "v1", "clusterwidgets", "ClusterWidget", False, custom=True))
    widget = {"apiVersion": "example.com/v1", "kind": "ClusterWidget", "metadata": {"name": "w"}}
    custom = client.CustomObjectsApi(fake_kube_client)

    await custom.create_cluster_custom_object("example.com", "v1", "clusterwidgets", widget)
    read = await custom.get_cluster_custom_object("example.com", "v1", "clusterwidgets", "w")

    assert read["kind"] == "ClusterWidget"
    assert "namespace" not in read["metadata"]


async def test_two_fakes_keep_separate_state(fake_kube: FakeKubeApi) -> None:
    async with FakeKubeApi(require_namespaces=False) as other:
        other.put_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}})

        assert other.url != fake_kube.url
        assert fake_kube.objects("ConfigMap") == []
        assert len(other.objects("ConfigMap")) == 1


async def test_a_crash_inside_the_fake_is_a_500_and_is_kept_for_the_fixture(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("bug in the fake")

    async with FakeKubeApi() as fake:
        monkeypatch.setattr(fake.store, "list", broken)
        async with real_api_client(fake.write_kubeconfig(tmp_path / "kubeconfig")) as api_client:
            with pytest.raises(ApiException) as caught:
                await client.CoreV1Api(api_client).list_node()

    assert caught.value.status == 500
    assert status_body(caught.value)["reason"] == "InternalError"
    assert [str(crash) for crash in fake.crashes] == ["bug in the fake"]
