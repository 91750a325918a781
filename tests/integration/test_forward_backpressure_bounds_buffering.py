"""A target that stops reading stops the client's writes too: the forwarder does not buffer without bound."""

from __future__ import annotations

import asyncio
import socket

import pytest

from .test_forward_support import DEADLINE, ENGINES, forwarding, serving

CHUNK = 1 << 20
# Socket buffers, the relay pipe or transport buffers together hold a few tens of MiB at most on Linux;
# a relay that ignored back-pressure would take all of this.
CEILING = 512 << 20
STALL = 1.0  # a send that makes no progress for this long means the pipeline is full


@pytest.mark.parametrize("engine", ENGINES)
async def test_stalled_target_stalls_client_and_loses_nothing(engine: str) -> None:
    loop = asyncio.get_running_loop()
    release = asyncio.Event()
    received = loop.create_future()

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        received.set_result(len(await reader.read()))
        writer.close()

    async with serving(slow_reader) as target, forwarding(target, engine) as (_, port):
        client = socket.socket()
        client.setblocking(False)
        async with asyncio.timeout(DEADLINE):
            await loop.sock_connect(client, ("127.0.0.1", port))
        chunk = b"b" * CHUNK
        sent = 0
        try:
            while sent < CEILING:
                async with asyncio.timeout(STALL):
                    await loop.sock_sendall(client, chunk)
                sent += CHUNK
        except TimeoutError:
            pass  # the expected outcome: the whole chain pushed back
        assert sent < CEILING, "the client could write without bound: back-pressure is not propagated"

        release.set()
        # Whatever was accepted from the client must arrive; the partial last chunk counts as well.
        client.shutdown(socket.SHUT_WR)
        async with asyncio.timeout(DEADLINE * 3):
            total = await received
        assert sent <= total <= sent + CHUNK
        client.close()
