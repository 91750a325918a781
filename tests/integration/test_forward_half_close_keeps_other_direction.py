"""When one side ends its writes, the other direction keeps flowing until it ends too."""

from __future__ import annotations

import asyncio

import pytest

from .test_forward_support import DEADLINE, ENGINES, Handler, close, connect, forwarding, read_all, serving


async def count_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read until the client's EOF, then answer with what was received and close."""
    data = await reader.read()
    writer.write(b"got %d bytes" % len(data))
    await writer.drain()
    writer.close()


def greet_then_listen(heard: asyncio.Future[bytes]) -> Handler:
    """A target that greets and ends its writes at once, then records all the client sends."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        writer.write_eof()
        await writer.drain()
        heard.set_result(await reader.read())
        writer.close()

    return handler


@pytest.mark.parametrize("engine", ENGINES)
async def test_client_eof_still_gets_the_answer(engine: str) -> None:
    async with serving(count_then_answer) as target, forwarding(target, engine) as (_, port):
        reader, writer = await connect(port)
        writer.write(b"x" * 100_000)
        writer.write_eof()
        assert await read_all(reader) == b"got 100000 bytes"
        await close(writer)


@pytest.mark.parametrize("engine", ENGINES)
async def test_target_eof_still_receives_from_client(engine: str) -> None:
    heard: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    async with serving(greet_then_listen(heard)) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)
        assert await read_all(reader) == b"hello"  # the target's EOF came through
        writer.write(b"still talking")  # and our direction is still open
        writer.write_eof()
        async with asyncio.timeout(DEADLINE):
            assert await heard == b"still talking"
        await close(writer)
        await table.wait_quiet("m")
        assert table.stats("m").last_error is None
