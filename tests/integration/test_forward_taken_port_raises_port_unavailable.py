"""A listen port that is already held is a typed error, never a silent move to another port."""

from __future__ import annotations

import socket

import pytest

from tekton_runner.forwarding import ForwardTable, MappingExists, PortUnavailable

from .test_forward_support import free_port


async def test_port_held_by_another_socket_raises_port_unavailable() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        async with ForwardTable() as table:
            with pytest.raises(PortUnavailable) as caught:
                await table.open("m", "127.0.0.1", port, "127.0.0.1", free_port())
            assert caught.value.port == port
            assert caught.value.holder is None
            assert "m" not in table


async def test_port_held_by_another_mapping_names_the_holder() -> None:
    async with ForwardTable() as table:
        first = await table.open("first", "127.0.0.1", 0, "127.0.0.1", free_port())
        with pytest.raises(PortUnavailable) as caught:
            await table.open("second", "0.0.0.0", first.port, "127.0.0.1", free_port())
        assert caught.value.holder == "first"
        with pytest.raises(MappingExists):
            await table.open("first", "127.0.0.1", 0, "127.0.0.1", free_port())
        assert len(table) == 1


async def test_closed_mapping_releases_its_port() -> None:
    async with ForwardTable() as table:
        listen = await table.open("m", "127.0.0.1", 0, "127.0.0.1", free_port())
        await table.close("m")
        again = await table.open("m", "127.0.0.1", listen.port, "127.0.0.1", free_port())
        assert again == listen
