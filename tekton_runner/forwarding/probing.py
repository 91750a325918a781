"""TCP reachability check used by GET /endpoint: does anything accept a connection there right now?"""

from __future__ import annotations

import asyncio
import contextlib


# The signature the /endpoint handler asked for; the deadline stays inside this one call.
async def probe(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a TCP connection to host:port completes within `timeout` seconds; closes it at once."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
