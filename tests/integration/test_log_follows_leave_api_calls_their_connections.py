"""Log follows hold their connection while a container runs; they must never take the connections that the
chain's own API calls need, or a few hundred people following a build would stall every deploy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

from tekton_runner.kube.client import Kube
from tests.fakes import FakeKubeApi
from tests.integration.pods import put_pod

NS = "team-a"


async def follow(kube: Kube, pod: str) -> AsyncIterator[bytes]:
    async with kube.pod_log_stream(NS, pod, container="web", follow=True) as chunks:
        async for chunk in chunks:
            yield chunk


async def test_calls_answer_while_more_follows_are_open_than_the_calls_pool_holds(fake_kube: FakeKubeApi) -> None:
    fake_kube.add_namespace(NS)
    pods = [f"web-{index}" for index in range(4)]
    for pod in pods:
        put_pod(fake_kube, NS, pod, ("web",), state="running")
    async with Kube.connect(str(fake_kube.kubeconfig), connections=2, streams=4) as kube, AsyncExitStack() as stack:
        streams = [follow(kube, pod) for pod in pods]
        for stream in streams:
            stack.push_async_callback(stream.aclose)
        for pod in pods:
            fake_kube.write_log(NS, pod, "web", f"{pod} up\n")
        firsts = [await anext(stream) for stream in streams]  # four follows open at once, twice the calls pool
        assert firsts == [f"{pod} up\n".encode() for pod in pods]
        assert fake_kube.logs.following == 4

        found = await kube.get("v1", "Pod", "web-0", NS)  # two calls at once still get their connections
        listed = await kube.list("v1", "Pod", namespace=NS)
        assert found["metadata"]["name"] == "web-0" and len(listed) == 4

        fake_kube.write_log(NS, "web-3", "web", "still streaming\n")
        assert await anext(streams[3]) == b"still streaming\n"
