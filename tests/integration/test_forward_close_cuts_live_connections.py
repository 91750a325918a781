"""close() stops the listener and ends live connections, after an optional grace period."""

from __future__ import annotations

import asyncio

import pytest

from tekton_runner.forwarding import MappingNotFound

from .test_forward_support import DEADLINE, ENGINES, close, connect, echo, forwarding, read_all, serving


@pytest.mark.parametrize("engine", ENGINES)
async def test_close_ends_live_connection_and_forgets_mapping(engine: str) -> None:
    async with serving(echo) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)
        writer.write(b"hi")
        async with asyncio.timeout(DEADLINE):
            assert await reader.readexactly(2) == b"hi"
        await table.close("m")
        try:
            assert await read_all(reader) == b""
        except ConnectionResetError:
            pass
        await close(writer)
        assert "m" not in table
        with pytest.raises(MappingNotFound):
            table.stats("m")
        with pytest.raises(ConnectionRefusedError):
            await connect(port)


@pytest.mark.parametrize("engine", ENGINES)
async def test_grace_lets_a_finishing_connection_complete(engine: str) -> None:
    async with serving(echo) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)
        writer.write(b"hi")  # a round trip first: the forwarder has accepted this connection
        async with asyncio.timeout(DEADLINE):
            assert await reader.readexactly(2) == b"hi"
        closing = asyncio.ensure_future(table.close("m", grace=DEADLINE))
        writer.write(b"last words")
        writer.write_eof()
        assert await read_all(reader) == b"last words"
        await close(writer)
        async with asyncio.timeout(DEADLINE):
            await closing
        assert "m" not in table
