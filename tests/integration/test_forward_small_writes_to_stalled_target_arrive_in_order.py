"""Small writes that pile up while the target is not reading still arrive complete and in order.

This drives the copy path of the splice engine into a full destination, where the rest of a read
has to wait in the pipe ahead of everything that follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from tekton_runner.forwarding import splicing
from tekton_runner.forwarding.stats import Traffic

from .test_forward_support import DEADLINE, ENGINES, close, connect, forwarding, serving

MESSAGE = 2000
COUNT = 4000  # 8 MB in all
RELEASE_AFTER = 256  # messages (512 KB): fits in the socket buffers plus the relay's pipe


def message(i: int) -> bytes:
    return (b"%08d" % i) * (MESSAGE // 8)


@pytest.mark.parametrize("engine", ENGINES)
async def test_small_writes_arrive_in_order(engine: str) -> None:
    release = asyncio.Event()
    received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def stalled_then_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        received.set_result(await reader.read())
        writer.close()

    async with serving(stalled_then_reading) as target, forwarding(target, engine) as (_, port):
        _, writer = await connect(port)
        async with asyncio.timeout(DEADLINE * 3):
            for i in range(COUNT):
                writer.write(message(i))
                await writer.drain()
                if i == RELEASE_AFTER:
                    release.set()
            writer.write_eof()
            data = await received
        await close(writer)
    assert len(data) == MESSAGE * COUNT
    assert data == b"".join(message(i) for i in range(COUNT))


async def test_copied_read_that_cannot_be_sent_waits_in_the_pipe() -> None:
    # client_app <-> client_side | relay | target_side <-> target_app, as two socket pairs.
    client_app, client_side = socket.socketpair()
    target_side, target_app = socket.socketpair()
    for sock in (client_app, client_side, target_side, target_app):
        sock.setblocking(False)
    # Fill the way to the target completely before the relay starts, so its first send gets EAGAIN.
    filler = 0
    with contextlib.suppress(BlockingIOError):
        while True:
            filler += target_side.send(b"f" * 4096)
    client_app.send(b"small message")
    loop = asyncio.get_running_loop()
    traffic = Traffic()
    session = await splicing.start_splice(client_side, target_side, traffic)
    try:
        client_app.shutdown(socket.SHUT_WR)
        target_app.shutdown(socket.SHUT_WR)  # the target has nothing to say: that direction ends at once
        received = bytearray()
        async with asyncio.timeout(DEADLINE):
            while chunk := await loop.sock_recv(target_app, 1 << 16):
                received += chunk
            await session.done
    finally:
        session.abort()
        client_app.close()
        target_app.close()
    assert bytes(received) == b"f" * filler + b"small message"
    assert traffic.to_target == len(b"small message")
