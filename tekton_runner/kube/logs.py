"""Reading a pod log answer of the API server: its chunks, and a refused answer as the runner's error type.

Used by Kube.pod_log_stream; nothing outside the kube layer sees the aiohttp response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from .errors import KubeError, translate

LogChunks = AsyncIterator[bytes]
# An error answer is a small Status object; more than this is not read.
_MAX_ERROR_BODY = 64 * 1024


async def failed_answer(response: aiohttp.ClientResponse) -> KubeError:
    """The error a non-2xx log answer stands for (NotFound for a pod that is gone, Invalid for a container
    that has not started, ...), with the API server's message."""
    error = ApiException(status=response.status, reason=response.reason)
    try:
        error.body = await response.content.read(_MAX_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError):
        error.body = b""
    error.headers = response.headers
    return translate(error)


async def log_chunks(response: aiohttp.ClientResponse) -> LogChunks:
    """The body as it arrives; a connection that breaks mid-log raises Unavailable."""
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise translate(error) from error
