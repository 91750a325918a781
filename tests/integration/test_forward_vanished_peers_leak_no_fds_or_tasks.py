"""Clients or targets that vanish mid-stream leave no descriptor or task behind, nor does close_all()."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest

from tekton_runner.forwarding import ForwardTable, RelayOptions

from .test_forward_support import DEADLINE, ENGINES, close, connect, echo, open_fds, serving


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN, as a crashed or unplugged peer would."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def reset_after_first_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    reset(writer)


async def reset_and_wait(writer: asyncio.StreamWriter) -> None:
    reset(writer)
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


@pytest.mark.parametrize("engine", ENGINES)
async def test_vanishing_clients_and_targets_release_everything(engine: str) -> None:
    baseline_fds = await open_fds()
    async with serving(echo) as echo_port, serving(reset_after_first_chunk) as rude_port:
        table = ForwardTable(RelayOptions(engine=engine))  # type: ignore[arg-type]
        to_echo = await table.open("echo", "127.0.0.1", 0, "127.0.0.1", echo_port)
        to_rude = await table.open("rude", "127.0.0.1", 0, "127.0.0.1", rude_port)

        # Clients that reset mid-stream, with data in flight both ways.
        for _ in range(20):
            reader, writer = await connect(to_echo.port)
            writer.write(b"x" * 200_000)
            async with asyncio.timeout(DEADLINE):
                await reader.readexactly(1000)
            await reset_and_wait(writer)
        # Targets that reset: the client must see the end, not hang.
        for _ in range(20):
            reader, writer = await connect(to_rude.port)
            writer.write(b"y" * 50_000)
            async with asyncio.timeout(DEADLINE):
                try:
                    await reader.read()
                except ConnectionResetError:
                    pass
            await close(writer)
        await table.wait_quiet("echo")
        await table.wait_quiet("rude")
        assert table.stats("echo").connections_active == 0
        assert table.stats("rude").connections_total == 20

        # Live connections cut by close_all().
        held = [await connect(to_echo.port) for _ in range(10)]
        for reader, writer in held:
            writer.write(b"z")
            async with asyncio.timeout(DEADLINE):
                await reader.readexactly(1)
        await table.close_all()
        for reader, writer in held:
            async with asyncio.timeout(DEADLINE):
                try:
                    assert await reader.read() == b""
                except ConnectionResetError:
                    pass
            await close(writer)
        assert len(table) == 0
        assert [t for t in asyncio.all_tasks() if t.get_name().startswith("forward-")] == []
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert await open_fds() <= baseline_fds  # fewer is fine: a stray loop of an earlier test may be collected
