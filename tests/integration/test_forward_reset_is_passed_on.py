"""A peer that resets its connection makes the forwarder reset the other peer, not end it cleanly.

A clean FIN would let a truncated download or upload look complete to the side that did not fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest

from .test_forward_support import DEADLINE, ENGINES, connect, forwarding, serving


def reset(writer: asyncio.StreamWriter) -> None:
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("engine", ENGINES)
async def test_target_reset_reaches_client_as_reset(engine: str) -> None:
    async def reset_after_first_bytes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"partial answer")
        await writer.drain()
        await reader.readexactly(4)
        reset(writer)

    async with serving(reset_after_first_bytes) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)
        async with asyncio.timeout(DEADLINE):
            assert await reader.readexactly(14) == b"partial answer"
            writer.write(b"more")
            with pytest.raises(ConnectionResetError):
                await reader.read()
        writer.close()
        await table.wait_quiet("m")
        assert "reset" in (table.stats("m").last_error or "").lower()


@pytest.mark.parametrize("engine", ENGINES)
async def test_client_reset_reaches_target_as_reset(engine: str) -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def watch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ready")
        try:
            await reader.read()
            outcome.set_result("clean eof")
        except ConnectionResetError:
            outcome.set_result("reset")
        with contextlib.suppress(ConnectionError):
            writer.close()

    async with serving(watch) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)
        async with asyncio.timeout(DEADLINE):
            assert await reader.readexactly(5) == b"ready"
            reset(writer)
            assert await outcome == "reset"
        await table.wait_quiet("m")
