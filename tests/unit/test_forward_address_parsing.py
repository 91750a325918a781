"""The forward verb reads [HOST:]PORT and HOST:PORT, IPv6 in brackets, and rejects anything else."""

from __future__ import annotations

import pytest

from tekton_runner.forwarding import Address, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8080", Address("0.0.0.0", 8080)),
        ("127.0.0.1:18739", Address("127.0.0.1", 18739)),
        ("[::1]:443", Address("::1", 443)),
        ("node-1.local:30080", Address("node-1.local", 30080)),
        (":9000", Address("", 9000)),
    ],
)
def test_valid_addresses_parse(text: str, expected: Address) -> None:
    assert parse_address(text, default_host="0.0.0.0") == expected


@pytest.mark.parametrize("text", ["host:", "host:http", "host:70000", "1.2.3.4:-1"])
def test_invalid_ports_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="port"):
        parse_address(text)


def test_bare_port_needs_a_default_host() -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("8080")


def test_ipv6_addresses_print_with_brackets() -> None:
    assert str(Address("::1", 443)) == "[::1]:443"
    assert str(Address("10.0.0.1", 80)) == "10.0.0.1:80"
