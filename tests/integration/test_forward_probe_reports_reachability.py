"""probe() says whether a TCP connection to an address can be opened right now."""

from __future__ import annotations

from tekton_runner.forwarding import probe

from .test_forward_support import echo, free_port, serving


async def test_probe_is_true_for_a_listener_and_false_for_a_closed_port() -> None:
    async with serving(echo) as port:
        assert await probe("127.0.0.1", port, timeout=5.0) is True
    assert await probe("127.0.0.1", free_port(), timeout=5.0) is False


async def test_probe_is_false_for_an_unresolvable_host() -> None:
    assert await probe("no-such-host.invalid", 80, timeout=5.0) is False
