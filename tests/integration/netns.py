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
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

CLONE_NEWNET = 0x40000000
NODE = "192.0.2.1"  # TEST-NET-1: never routed, so nothing outside the namespace can answer for it

needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"), reason="needs root, nft and ip"
)


async def sh(*args: str, stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
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


HOST_SIDE, CLIENT_SIDE = "198.51.100.1", "198.51.100.2"  # TEST-NET-2, on a veth pair
_CLIENT = r"""
import socket, sys
print("ready", flush=True)
host, port = sys.stdin.readline().split()
with socket.create_connection((host, int(port)), timeout=30) as sock:
    sock.sendall(b"hello\n")
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    print(sock.getsockname()[1], answer.decode().strip(), flush=True)
"""


async def from_another_host(port: int) -> tuple[str, bool]:
    """Connect to HOST_SIDE:port from a namespace of its own behind a veth pair, as a user's machine would.

    Returns the NodePort's answer and whether it saw the client's own source port (no relay in between).
    """
    client = await asyncio.create_subprocess_exec(
        "unshare", "-n", sys.executable, "-c", _CLIENT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert client.stdin is not None and client.stdout is not None
    try:
        assert await client.stdout.readline() == b"ready\n"  # its namespace exists from here on
        await sh("ip", "link", "add", "ext0", "type", "veth", "peer", "name", "ext1", "netns", str(client.pid))
        await sh("ip", "addr", "add", f"{HOST_SIDE}/24", "dev", "ext0")
        await sh("ip", "link", "set", "ext0", "up")
        inside = ("nsenter", "-t", str(client.pid), "-n")
        await sh(*inside, "ip", "link", "set", "lo", "up")
        await sh(*inside, "ip", "addr", "add", f"{CLIENT_SIDE}/24", "dev", "ext1")
        await sh(*inside, "ip", "link", "set", "ext1", "up")
        client.stdin.write(f"{HOST_SIDE} {port}\n".encode())
        await client.stdin.drain()
        mine, name, seen = (await client.stdout.readline()).decode().split()
        assert await client.wait() == 0
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
    return name, seen == mine
