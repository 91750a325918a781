"""A private network namespace for one test: the test's thread moves into it and back, the host is untouched.

Everything the test opens after entering (the runner, the fake API, nft, helper threads) lives in the new
namespace; it has `lo` up and NODE, a non-loopback address standing in for a workspace node.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import os
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

CLONE_NEWNET = 0x40000000
NODE = "192.0.2.1"  # TEST-NET-1: never routed, so nothing outside the namespace can answer for it

needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"), reason="needs root, nft and ip"
)


async def sh(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {err.decode().strip()}")
    return out.decode()


async def table_exists(table: str) -> bool:
    proc = await asyncio.create_subprocess_exec(
        "nft", "list", "table", "ip", table, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await proc.wait() == 0


@pytest_asyncio.fixture
async def private_netns() -> AsyncIterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            pytest.fail(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
        # Threads inherit the namespace of the thread that starts them: give the loop threads started here.
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=4)
        asyncio.get_running_loop().set_default_executor(executor)
        await sh("ip", "link", "set", "lo", "up")
        await sh("ip", "addr", "add", f"{NODE}/32", "dev", "lo")
        yield
    finally:
        if libc.setns(home, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back to the original network namespace")
        os.close(home)
