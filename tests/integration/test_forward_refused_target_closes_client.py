"""A target that refuses the connection ends the client's connection cleanly and is reported."""

from __future__ import annotations

import pytest

from .test_forward_support import ENGINES, close, connect, forwarding, free_port, read_all


@pytest.mark.parametrize("engine", ENGINES)
async def test_refused_target_gives_client_eof_and_records_error(engine: str) -> None:
    async with forwarding(free_port(), engine) as (table, port):
        reader, writer = await connect(port)
        assert await read_all(reader) == b""
        await close(writer)
        await table.wait_quiet("m")
        stats = table.stats("m")
        assert stats.connect_failures == 1
        assert stats.connections_active == 0
        assert stats.last_error is not None and "refused" in stats.last_error.lower()
        # the listener survives a failed target: the next client is accepted as well
        reader, writer = await connect(port)
        assert await read_all(reader) == b""
        await close(writer)
        await table.wait_quiet("m")
        assert table.stats("m").connect_failures == 2
