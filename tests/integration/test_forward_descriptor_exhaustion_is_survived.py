"""Running out of file descriptors refuses some connections for a while; the listener survives and recovers."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal

import pytest

from .test_forward_cli_relays_until_signalled import start_cli
from .test_forward_support import DEADLINE, close, connect, echo, serving

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")

FD_LIMIT = 48  # the interpreter needs about a dozen; each spliced connection takes six more
CLIENTS = 30  # even at two descriptors each (no pipes), more than FD_LIMIT allows


async def round_trip(port: int, payload: bytes, deadline: float) -> bool:
    try:
        async with asyncio.timeout(deadline):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(payload)
                return await reader.readexactly(len(payload)) == payload
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False


async def test_listener_survives_running_out_of_descriptors() -> None:
    async with serving(echo) as target:
        proc = await start_cli(
            "--listen", "127.0.0.1:0", "--target", f"127.0.0.1:{target}", wrapper=["prlimit", f"--nofile={FD_LIMIT}"]
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(DEADLINE * 3):
                banner = (await proc.stdout.readline()).decode()
            port = int(banner.split()[1].rsplit(":", 1)[1])
            held = [await connect(port) for _ in range(CLIENTS)]  # more than the limit allows to relay
            answered = await asyncio.gather(*(round_trip_on(r, w) for r, w in held))
            assert 0 < sum(answered) < CLIENTS
            for _, writer in held:
                await close(writer)
            # Descriptors come back as the forwarder sees those clients go; then it serves again.
            assert await round_trip(port, b"again", DEADLINE)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(DEADLINE * 3):
                _, err = await proc.communicate()
        assert proc.returncode == 0, err


async def round_trip_on(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"ping")
    try:
        async with asyncio.timeout(2.0):  # a client that is not accepted by then counts as refused
            return await reader.readexactly(4) == b"ping"
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
