"""A relayed connection that carries no byte for longer than the idle timeout is closed on both sides."""

from __future__ import annotations

import asyncio

import pytest

from .test_forward_support import DEADLINE, ENGINES, close, connect, forwarding, read_all, serving


@pytest.mark.parametrize("engine", ENGINES)
async def test_idle_pair_is_closed_and_not_counted_as_error(engine: str) -> None:
    target_saw_end = asyncio.get_running_loop().create_future()

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(4))
        await writer.drain()
        target_saw_end.set_result(await reader.read())  # returns once the forwarder drops us
        writer.close()

    async with serving(answer_once) as target, forwarding(target, engine, idle_timeout=0.2) as (table, port):
        reader, writer = await connect(port)
        writer.write(b"ping")
        async with asyncio.timeout(DEADLINE):
            assert await reader.readexactly(4) == b"ping"
        # Then silence: the forwarder, not the test, ends the connection.
        assert await read_all(reader) == b""
        async with asyncio.timeout(DEADLINE):
            assert await target_saw_end == b""
        await close(writer)
        await table.wait_quiet("m")
        stats = table.stats("m")
        assert stats.connections_active == 0
        assert stats.last_error is None


@pytest.mark.parametrize("engine", ENGINES)
async def test_busy_pair_outlives_the_idle_timeout(engine: str) -> None:
    async with serving(echo_lines) as target, forwarding(target, engine, idle_timeout=0.5) as (table, port):
        reader, writer = await connect(port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        rounds = 0
        # Keep talking for longer than three idle periods; every answer must still come back.
        while loop.time() - started < 1.6:
            writer.write(b"tick\n")
            async with asyncio.timeout(DEADLINE):
                assert await reader.readline() == b"tick\n"
            rounds += 1
            await asyncio.sleep(0.05)  # traffic pacing, not synchronisation
        writer.write_eof()
        assert await read_all(reader) == b""
        await close(writer)
        assert rounds > 1
        assert table.stats("m").connections_total == 1


async def echo_lines(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
        await writer.drain()
    writer.close()
