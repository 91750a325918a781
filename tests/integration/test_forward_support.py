"""Shared helpers for the forwarding integration tests: loopback servers, fd counts, reads with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tekton_runner.forwarding import ForwardTable, RelayOptions, splicing

__test__ = False  # helpers only; pytest must not look for tests here

_LINUX = pytest.mark.skipif(not splicing.available(), reason="Linux only")
ENGINES = [pytest.param("splice", marks=_LINUX), pytest.param("splice-always", marks=_LINUX), "transports"]
DEADLINE = 10.0  # generous bound for a step that should take milliseconds; never a measured figure

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo every byte; on EOF from the client, end our side too."""
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        await close(writer)


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[int]:
    """Run `handler` for every connection on a loopback port; yield the port."""
    handlers: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await handler(reader, writer)
        finally:
            handlers.discard(task)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, backlog=1024)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def forwarding(target_port: int, engine: str, **options: float | None) -> AsyncIterator[tuple[ForwardTable, int]]:
    """A table with one mapping "m" from a free loopback port to 127.0.0.1:target_port."""
    table = ForwardTable(RelayOptions(engine=engine, **options))  # type: ignore[arg-type]
    async with table:
        listen = await table.open("m", "127.0.0.1", 0, "127.0.0.1", target_port)
        yield table, listen.port


def free_port() -> int:
    """A loopback port that nothing listens on right after this returns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def open_fds() -> int:
    """Descriptors this process holds, counted off the loop (listing a directory blocks)."""
    return len(await asyncio.to_thread(os.listdir, "/proc/self/fd"))


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until EOF, or fail the test after DEADLINE seconds."""
    async with asyncio.timeout(DEADLINE):
        return await reader.read()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with asyncio.timeout(DEADLINE):
        return await asyncio.open_connection("127.0.0.1", port)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
