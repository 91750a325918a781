"""Bytes sent through a mapping reach the target intact and the answers come back, counted per direction."""

from __future__ import annotations

import asyncio
import os

import pytest

from tekton_runner.forwarding import splicing

from .test_forward_support import ENGINES, close, connect, echo, forwarding, read_all, serving


@pytest.mark.parametrize("engine", ENGINES)
async def test_payload_round_trips_and_is_counted(engine: str) -> None:
    payload = os.urandom(8 << 20)
    async with serving(echo) as target, forwarding(target, engine) as (table, port):
        reader, writer = await connect(port)

        async def send() -> None:
            for offset in range(0, len(payload), 1 << 18):
                writer.write(payload[offset : offset + (1 << 18)])
                await writer.drain()
            writer.write_eof()

        _, received = await asyncio.gather(send(), read_all(reader))
        await close(writer)
        assert received == payload
        await table.wait_quiet("m")
        stats = table.stats("m")
        assert stats.bytes_to_target == len(payload)
        assert stats.bytes_to_client == len(payload)
        assert stats.connections_total == 1
        assert stats.connections_active == 0
        assert stats.last_error is None


async def test_rationed_pipes_fall_back_to_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the kernel only handed out pipes smaller than the engine accepts (unprivileged pipe quota).
    monkeypatch.setattr(splicing, "MIN_PIPE_SIZE", 1 << 30)
    payload = os.urandom(1 << 20)
    async with serving(echo) as target, forwarding(target, "splice") as (table, port):
        reader, writer = await connect(port)
        writer.write(payload)
        writer.write_eof()
        assert await read_all(reader) == payload
        await close(writer)
        await table.wait_quiet("m")
        assert table.stats("m").bytes_to_client == len(payload)
