"""Injected faults on the fake: error statuses with Retry-After, requests held on an event, request log."""

import asyncio
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi
from tests.fakes.fixtures import status_body

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test
# kubernetes_asyncio 36 accepts _content_type at runtime; its type stubs do not declare it.

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}}


async def apply_config_map(api_client: client.ApiClient, **kwargs: Any) -> Any:
    return await client.CoreV1Api(api_client).patch_namespaced_config_map(  # type: ignore[call-arg]
        "cfg",
        "ws-demo",
        CONFIG_MAP,
        field_manager="tekton-runner",
        _content_type="application/apply-patch+yaml",
        **kwargs,
    )


async def test_throttling_fault_answers_429_with_retry_after_then_lets_requests_through(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fault = fake_kube.fail(method="PATCH", path_regex=r"/configmaps/cfg$", status=429, times=2, retry_after=3)

    failures = []
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            await apply_config_map(fake_kube_client)
        failures.append(caught.value)
    applied = await apply_config_map(fake_kube_client)

    assert [(e.status, e.headers["Retry-After"] if e.headers else None) for e in failures] == [(429, "3"), (429, "3")]
    assert status_body(failures[0])["reason"] == "TooManyRequests"
    assert applied.data == {"k": "v"}
    assert fault.hits == 2
    assert [request.status for request in fake_kube.applies("ConfigMap", "cfg")] == [429, 429, 201]


async def test_server_error_fault_matches_only_its_method_and_path(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.fail(method="GET", path_regex=r"/secrets", status=500, times=None)
    core = client.CoreV1Api(fake_kube_client)

    for _ in range(3):
        with pytest.raises(ApiException) as caught:
            await core.list_namespaced_secret("ws-demo")
        assert caught.value.status == 500
    await core.create_namespaced_secret("ws-demo", client.V1Secret(metadata=client.V1ObjectMeta(name="s")))
    config_maps = await core.list_namespaced_config_map("ws-demo")

    assert config_maps.items == []
    assert [o["metadata"]["name"] for o in fake_kube.objects("Secret", "ws-demo")] == ["s"]


async def test_conflict_fault_carries_a_custom_reason_and_message(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.fail(method="PATCH", status=409, reason="Conflict", message="Apply failed with 1 conflict")

    with pytest.raises(ApiException) as caught:
        await apply_config_map(fake_kube_client)

    body = status_body(caught.value)
    assert (caught.value.status, body["reason"], body["message"]) == (
        409,
        "Conflict",
        "Apply failed with 1 conflict",
    )
    assert fake_kube.objects("ConfigMap") == []


async def test_held_request_waits_for_the_test_to_release_it(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    hold = fake_kube.delay(method="PATCH", path_regex=r"/configmaps/")

    async with asyncio.TaskGroup() as tasks:
        applying = tasks.create_task(apply_config_map(fake_kube_client))
        await hold.arrived.wait()
        assert (hold.waiting, applying.done(), fake_kube.objects("ConfigMap")) == (1, False, [])
        hold.release.set()

    assert applying.result().data == {"k": "v"}
    assert hold.waiting == 0


async def test_held_request_lets_the_client_time_out(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.delay(method="PATCH")  # never released by the test; the fixture releases it at teardown

    with pytest.raises(asyncio.TimeoutError):
        await apply_config_map(fake_kube_client, _request_timeout=aiohttp.ClientTimeout(total=0.2))

    assert fake_kube.requests[-1].status is None  # still held on the server side


async def test_requests_are_recorded_with_method_path_query_type_and_body(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    await apply_config_map(fake_kube_client, force=True)
    await client.CoreV1Api(fake_kube_client).list_namespaced_config_map("ws-demo", label_selector="a in (b,c)")

    apply, listing = fake_kube.requests
    assert (apply.method, apply.path) == ("PATCH", "/api/v1/namespaces/ws-demo/configmaps/cfg")
    assert apply.query == {"fieldManager": "tekton-runner", "force": "True"}
    assert (apply.content_type, apply.data, apply.is_apply) == (
        "application/apply-patch+yaml",
        CONFIG_MAP,
        True,
    )
    assert apply.headers["Authorization"] == "Bearer fake-kube-token"
    assert (listing.method, listing.query, listing.body) == ("GET", {"labelSelector": "a in (b,c)"}, b"")
    assert fake_kube.requests_to("GET", r"/configmaps$") == [listing]
