"""`python -m tekton_runner.forwarding` relays like the service does and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import sys
from pathlib import Path

import pytest

from .test_forward_support import DEADLINE, close, connect, echo, read_all, serving

REPO = Path(__file__).resolve().parents[2]


async def start_cli(*args: str, wrapper: list[str] | None = None) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.create_subprocess_exec(
        *(wrapper or []), sys.executable, "-m", "tekton_runner.forwarding", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip


def uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


LOOPS = ["asyncio", pytest.param("uvloop", marks=pytest.mark.skipif(not uvloop_installed(), reason="no uvloop"))]


@pytest.mark.parametrize("engine", ["auto", "transports"])
@pytest.mark.parametrize("loop", LOOPS)
async def test_cli_relays_then_exits_zero_on_sigterm(engine: str, loop: str) -> None:
    async with serving(echo) as target:
        proc = await start_cli(
            "--listen", "127.0.0.1:0", "--target", f"127.0.0.1:{target}", "--engine", engine, "--loop", loop
        )  # fmt: skip
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(DEADLINE * 3):
                banner = (await proc.stdout.readline()).decode()
            assert banner.startswith("listening 127.0.0.1:"), banner
            port = int(banner.split()[1].rsplit(":", 1)[1])
            reader, writer = await connect(port)
            writer.write(b"through the cli")
            writer.write_eof()
            assert await read_all(reader) == b"through the cli"
            await close(writer)
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(DEADLINE * 3):
                _, err = await proc.communicate()
        assert proc.returncode == 0, err


async def test_cli_exits_one_when_the_port_is_taken() -> None:
    async with serving(echo) as taken:
        proc = await start_cli("--listen", f"127.0.0.1:{taken}", "--target", f"127.0.0.1:{taken}")
        async with asyncio.timeout(DEADLINE * 3):
            _, err = await proc.communicate()
        assert proc.returncode == 1
        assert b"already in use" in err


async def test_cli_rejects_a_malformed_target() -> None:
    proc = await start_cli("--listen", "0", "--target", "no-port-here")
    async with asyncio.timeout(DEADLINE * 3):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"HOST:PORT" in err
