"""Hundreds of connections relayed at once each get their own bytes back, and all are accounted for."""

from __future__ import annotations

import asyncio
import os

import pytest

from .test_forward_support import DEADLINE, ENGINES, close, connect, echo, forwarding, serving

CLIENTS = 300


@pytest.mark.parametrize("engine", ENGINES)
async def test_concurrent_clients_get_their_own_bytes(engine: str) -> None:
    async with serving(echo) as target, forwarding(target, engine) as (table, port):
        opened = asyncio.Event()
        connected = 0

        async def client() -> bool:
            nonlocal connected
            reader, writer = await connect(port)
            connected += 1
            if connected == CLIENTS:
                opened.set()
            async with asyncio.timeout(DEADLINE * 3):
                await opened.wait()  # every connection is open at the same time before any data moves
                mine = os.urandom(32 << 10)
                writer.write(mine)
                writer.write_eof()
                back = await reader.read()
            await close(writer)
            return back == mine

        results = await asyncio.gather(*(client() for _ in range(CLIENTS)))
        assert all(results)
        await table.wait_quiet("m")
        stats = table.stats("m")
        assert stats.connections_total == CLIENTS
        assert stats.bytes_to_target == stats.bytes_to_client == CLIENTS * (32 << 10)
        assert stats.connect_failures == 0
