"""retarget() sends new connections to the new target on the same port; live ones stay where they are."""

from __future__ import annotations

import asyncio

import pytest

from .test_forward_support import ENGINES, Handler, close, connect, forwarding, read_all, serving


def named(name: bytes) -> Handler:
    """A target that prefixes every line it echoes with its name, so a client can tell who answered."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(name + b":" + line)
            await writer.drain()
        writer.close()

    return handler


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> bytes:
    writer.write(line + b"\n")
    async with asyncio.timeout(10):
        return (await reader.readline()).rstrip()


@pytest.mark.parametrize("engine", ENGINES)
async def test_retarget_keeps_port_and_moves_only_new_connections(engine: str) -> None:
    async with serving(named(b"old")) as old, serving(named(b"new")) as new:
        async with forwarding(old, engine) as (table, port):
            live = await connect(port)
            assert await ask(*live, b"a") == b"old:a"

            await table.retarget("m", "127.0.0.1", new)
            assert table.stats("m").target.port == new
            assert table.stats("m").listen.port == port

            fresh = await connect(port)
            assert await ask(*fresh, b"b") == b"new:b"
            assert await ask(*live, b"c") == b"old:c"  # the live connection was not moved or cut

            for reader, writer in (live, fresh):
                writer.write_eof()
                assert await read_all(reader) == b""
                await close(writer)
