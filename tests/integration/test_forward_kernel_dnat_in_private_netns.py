"""The nftables kernel path relays a connection, counts it and removes its rules, inside a private netns.

Runs only as root with nft and unshare present; everything happens in a network namespace created for
the test, so the host's rules are never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from .test_forward_support import DEADLINE

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare") or not shutil.which("ip"),
    reason="needs root, nft, unshare and ip",
)

SCENARIO = r"""
import asyncio, json, subprocess
from tekton_runner.forwarding import Address
from tekton_runner.forwarding.kernel import DnatRule, NftDnat

async def main():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Not 127.0.0.1: the rules leave loopback clients to the mapping's listener (docs/forwarding.md).
    subprocess.run(["ip", "addr", "add", "192.0.2.1/32", "dev", "lo"], check=True)

    async def answer(reader, writer):
        writer.write(b"from target")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "192.0.2.1", 0)
    target = server.sockets[0].getsockname()[1]
    nft = NftDnat(table="tr_test")
    result = {"available": await nft.available()}
    await nft.apply([DnatRule("ws-a/app", 18739, Address("192.0.2.1", target))])
    reader, writer = await asyncio.open_connection("192.0.2.1", 18739)
    result["answer"] = (await reader.read()).decode()
    writer.close()
    result["connections"] = await nft.connections()
    await nft.clear()
    try:
        await asyncio.open_connection("192.0.2.1", 18739)
        result["after_clear"] = "connected"
    except ConnectionRefusedError:
        result["after_clear"] = "refused"
    server.close()
    print(json.dumps(result))

asyncio.run(main())
"""


async def test_dnat_rule_relays_counts_and_clears() -> None:
    proc = await asyncio.create_subprocess_exec(
        "unshare", "-n", sys.executable, "-c", SCENARIO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    async with asyncio.timeout(DEADLINE * 3):
        out, err = await proc.communicate()
    if proc.returncode != 0 and b"unshare failed" in err:
        pytest.skip(f"no network namespaces here: {err.decode().strip()}")
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    assert result == {
        "available": True,
        "answer": "from target",
        "connections": {"ws-a/app": 1},
        "after_clear": "refused",
    }
