"""The runner's Kubernetes client: server-side apply, get, list, delete and logs over kubernetes_asyncio."""

from __future__ import annotations

import asyncio
import builtins
import copy
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import aiohttp
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException
from kubernetes_asyncio.config.kube_config import KubeConfigLoader

from .errors import NotFound, translate
from .logs import LogChunks, failed_answer, log_chunks
from .resources import resource

FIELD_MANAGER = "tekton-runner"
KubeObject = dict[str, Any]
_OBJECT = {200: "object", 201: "object", 202: "object"}


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


class KubeConfigError(Exception):
    """No usable cluster configuration was found."""


def _default_kubeconfig() -> str | None:
    candidate = Path.home() / ".kube" / "config"
    return str(candidate) if candidate.exists() else None


class Kube:
    """One API server; every method raises the runner's KubeError types, never ApiException.

    Calls and log streams use separate connection pools: a follow holds its connection for as long as the
    container runs, so follows sharing the calls' pool could take every connection and stall the chain.
    """

    def __init__(self, api: client.ApiClient, *, streams: client.ApiClient | None = None,
                 request_timeout: float = 30.0) -> None:
        self._api = api
        self._streams = streams or api
        self._timeout = request_timeout

    @classmethod
    @asynccontextmanager
    async def connect(cls, kubeconfig: str | None = None, *, connections: int = 100,
                      streams: int = 64) -> AsyncIterator[Kube]:
        """`connections` bounds concurrent calls, `streams` concurrent log streams (each pool its own)."""
        configuration = client.Configuration()
        path = kubeconfig or _default_kubeconfig()
        if path is None:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except ConfigException as error:
                raise KubeConfigError(
                    "no kubeconfig: set KUBECONFIG or --kubeconfig, or run inside a cluster") from error
        else:
            # Read off the event loop; the loader's own file reading would block it.
            text = await asyncio.to_thread(Path(path).read_text)
            loader = KubeConfigLoader(config_dict=yaml.safe_load(text), config_base_path=str(Path(path).parent))
            await loader.load_and_set(configuration)
        configuration.connection_pool_maxsize = connections
        streaming = copy.deepcopy(configuration)
        streaming.connection_pool_maxsize = streams
        async with client.ApiClient(configuration) as api, client.ApiClient(streaming) as stream_api:
            yield cls(api, streams=stream_api)

    async def _call(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
        body: object = None, content_type: str | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            result = await self._api.call_api(
                path, method, query_params=query or [], header_params=headers, body=body,
                response_types_map=_OBJECT, auth_settings=["BearerToken"],
                _return_http_data_only=True, _request_timeout=self._timeout,
            )
            return result
        except Exception as error:  # translated into our own types here and only here
            raise translate(error) from error

    async def apply(self, obj: KubeObject, *, force: bool = True) -> KubeObject:
        """Server-side apply with the runner's one field manager; creates or updates."""
        meta = obj["metadata"]
        res = resource(obj["apiVersion"], obj["kind"])
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        path = res.item(meta.get("namespace"), meta["name"])
        result = await self._call("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")
        return cast(KubeObject, result)

    async def create(self, obj: KubeObject) -> KubeObject:
        """Creates the object; Conflict when one of that name exists (no apply: the caller owns every field)."""
        meta = obj["metadata"]
        path = resource(obj["apiVersion"], obj["kind"]).collection(meta.get("namespace"))
        return cast(KubeObject, await self._call("POST", path, body=obj, content_type="application/json"))

    async def replace(self, obj: KubeObject) -> KubeObject:
        """Replaces the object; Conflict when its metadata.resourceVersion is no longer the stored one."""
        meta = obj["metadata"]
        path = resource(obj["apiVersion"], obj["kind"]).item(meta.get("namespace"), meta["name"])
        return cast(KubeObject, await self._call("PUT", path, body=obj, content_type="application/json"))

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> KubeObject:
        path = resource(api_version, kind).item(namespace, name)
        return cast(KubeObject, await self._call("GET", path))

    async def list(
        self, api_version: str, kind: str, *, namespace: str | None = None,
        labels: Mapping[str, str] | None = None, has_label: str | None = None,
        label_in: tuple[str, Collection[str]] | None = None,
    ) -> list[KubeObject]:
        """Objects matching every `labels` pair, carrying `has_label` (any value) and, with
        `label_in=(key, values)`, whose `key` label is one of `values` (none: nothing is asked for)."""
        terms = [_selector(labels)] if labels else []
        if has_label:
            terms.append(has_label)
        if label_in is not None:
            key, values = label_in
            if not values:
                return []
            terms.append(f"{key} in ({','.join(sorted(values))})")
        query = [("labelSelector", ",".join(terms))] if terms else []
        result = await self._call("GET", resource(api_version, kind).collection(namespace), query=query)
        return list(cast(KubeObject, result).get("items") or [])

    async def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Deletes with background propagation; False when it was already gone (that is success too)."""
        path = resource(api_version, kind).item(namespace, name)
        try:
            await self._call("DELETE", path, query=[("propagationPolicy", "Background")])
        except NotFound:
            return False
        return True

    async def version(self) -> str:
        """The API server's gitVersion; a cheap reachability check that needs no RBAC."""
        result = cast(KubeObject, await self._call("GET", "/version"))
        return str(result.get("gitVersion", ""))

    async def pod_logs(self, namespace: str, pod: str, *, container: str | None = None, tail: int = 40,
                       previous: bool = False, limit_bytes: int | None = None) -> str:
        """The last `tail` lines of a container's log (of its previous instance with `previous`, the one that
        ended before the kubelet restarted it), at most `limit_bytes` of them."""
        query = [("tailLines", str(tail))] + ([("previous", "true")] if previous else [])
        async with self.pod_log_stream(namespace, pod, container=container, query=query, follow=False,
                                       limit_bytes=limit_bytes) as chunks:
            return b"".join([chunk async for chunk in chunks]).decode(errors="replace")

    @asynccontextmanager
    async def pod_log_stream(
        self, namespace: str, pod: str, *, container: str | None, follow: bool, limit_bytes: int | None = None,
        query: builtins.list[tuple[str, str]] | None = None,
    ) -> AsyncIterator[LogChunks]:
        """A container's log as the kubelet sends it through the API server, in chunks as they arrive.

        With `follow` the stream stays open until the container ends (no read timeout: a quiet container
        is not a failure); `limit_bytes` asks the kubelet to stop after that many bytes. A pod or container
        that is not there (yet) raises NotFound or Invalid, like any other call.
        """
        query = list(query or [])
        if container:
            query.append(("container", container))
        if follow:
            query.append(("follow", "true"))
        if limit_bytes is not None:
            query.append(("limitBytes", str(limit_bytes)))
        timeout = aiohttp.ClientTimeout(connect=self._timeout, sock_connect=self._timeout,
                                        sock_read=None if follow else self._timeout)
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        try:
            response = await self._streams.call_api(
                path, "GET", query_params=query, header_params={"Accept": "*/*"}, response_types_map={},
                auth_settings=["BearerToken"], _return_http_data_only=True, _preload_content=False,
                _request_timeout=timeout,
            )
        except Exception as error:
            raise translate(error) from error
        async with response:
            if not 200 <= response.status < 300:
                raise await failed_answer(response)
            yield log_chunks(response)
