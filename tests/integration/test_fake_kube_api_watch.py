"""Watches on the fake stream current objects and later changes to kubernetes_asyncio's Watch, and resume."""

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes import FakeKubeApi

pytest_plugins = ["tests.fakes.fixtures"]  # harmless once tests/conftest.py loads it for every test


def config_map(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ws-demo", "labels": labels},
    }


async def test_watch_sends_existing_objects_then_changes(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.put_object(config_map("a"))
    core = client.CoreV1Api(fake_kube_client)
    seen: list[tuple[str, str]] = []

    async with watch.Watch().stream(core.list_namespaced_config_map, "ws-demo") as stream:
        async for event in stream:
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 1:  # the watch is open once its first event arrives
                fake_kube.put_object(config_map("b"))
                await core.patch_namespaced_config_map("a", "ws-demo", {"data": {"k": "v"}})
                await core.delete_namespaced_config_map("b", "ws-demo")
            if len(seen) == 4:
                break

    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


async def test_watch_ended_by_the_server_resumes_without_gaps_or_repeats(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    fake_kube.put_object(config_map("a"))
    core = client.CoreV1Api(fake_kube_client)
    seen: list[tuple[str, str]] = []

    async with watch.Watch().stream(core.list_namespaced_config_map, "ws-demo") as stream:
        async for event in stream:
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 1:
                resumed_from = event["object"].metadata.resource_version
                fake_kube.end_watches()
                fake_kube.put_object(config_map("b"))  # made while the client reconnects
            if len(seen) == 2:
                break

    watches = fake_kube.requests_to("GET", r"/configmaps$")
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    assert [request.query.get("resourceVersion") for request in watches] == [None, resumed_from]


async def test_watch_filters_by_label_and_ends_when_the_server_ends_it(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    custom = client.CustomObjectsApi(fake_kube_client)
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        "tekton.dev",
        "v1",
        "ws-demo",
        "taskruns",
        label_selector="tekton-runner.io/run-id in (r1)",
        timeout_seconds=300,
    )

    async def collect() -> list[tuple[str, str]]:
        async with stream:
            return [(event["type"], event["object"]["metadata"]["name"]) async for event in stream]

    async with asyncio.TaskGroup() as tasks:
        collecting = tasks.create_task(collect())
        await fake_kube.wait_for_watches(1)
        for name, run in (("build-r1", "r1"), ("build-r2", "r2")):
            fake_kube.put_object(
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "metadata": {"name": name, "namespace": "ws-demo", "labels": {"tekton-runner.io/run-id": run}},
                }
            )
        fake_kube.set_status("TaskRun", "build-r1", {"podName": "p"}, namespace="ws-demo")
        fake_kube.end_watches()

    assert collecting.result() == [("ADDED", "build-r1"), ("MODIFIED", "build-r1")]


async def test_watch_with_a_malformed_selector_is_a_400(
    fake_kube: FakeKubeApi, fake_kube_client: client.ApiClient
) -> None:
    fake_kube.add_namespace("ws-demo")
    core = client.CoreV1Api(fake_kube_client)
    with pytest.raises(ApiException) as caught:
        async with watch.Watch().stream(core.list_namespaced_config_map, "ws-demo", label_selector="a in (") as s:
            async for _ in s:
                pass
    assert caught.value.status == 400
