"""Which mappings the kernel path may take, how the setting reads, and how the rules count per mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tekton_runner.forwarding import Address, DnatRule, KernelCounts
from tekton_runner.forwarding.dnat import refusal
from tekton_runner.forwarding.kernel import parse_counts, render
from tekton_runner.models.environment import settings_from_env

SITE = {"TEKTON_RUNNER_REGISTRY": "harbor.test/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088/"}


@pytest.mark.parametrize(
    ("listen", "target", "why"),
    [
        ("0.0.0.0", "172.18.0.2", None),
        ("", "10.0.0.5", None),
        ("10.1.2.3", "10.0.0.5", None),
        ("0.0.0.0", "127.0.0.1", "loopback"),
        ("0.0.0.0", "127.8.9.10", "loopback"),
        ("0.0.0.0", "node-1.local", "name"),
        ("0.0.0.0", "fd00::5", "IPv4"),
        ("127.0.0.1", "10.0.0.5", "listen host"),
        ("::", "10.0.0.5", "listen host"),
        ("runner.local", "10.0.0.5", "listen host"),
    ],
)
def test_loopback_names_and_ipv6_stay_on_the_relay(listen: str, target: str, why: str | None) -> None:
    reason = refusal(listen, target)
    assert (reason is None) == (why is None)
    if why is not None:
        assert why in str(reason)


def test_engine_setting_defaults_to_auto_and_refuses_unknown_values() -> None:
    assert settings_from_env(SITE).forward_engine == "auto"
    assert settings_from_env({**SITE, "TEKTON_RUNNER_FORWARD_ENGINE": "dnat"}).forward_engine == "dnat"
    with pytest.raises((ValidationError, SystemExit, ValueError)):
        settings_from_env({**SITE, "TEKTON_RUNNER_FORWARD_ENGINE": "iptables"})


def test_each_state_database_gets_its_own_table() -> None:
    first = settings_from_env({**SITE, "TEKTON_RUNNER_DATA_DIR": "/var/lib/a"})
    second = settings_from_env({**SITE, "TEKTON_RUNNER_DATA_DIR": "/var/lib/b"})
    assert first.nft_table.startswith("tekton_runner_") and first.nft_table != second.nft_table
    assert first.nft_table == settings_from_env({**SITE, "TEKTON_RUNNER_DATA_DIR": "/var/lib/a"}).nft_table
    named = settings_from_env({**SITE, "TEKTON_RUNNER_FORWARD_NFT_TABLE": "edge_ports"})
    assert named.nft_table == "edge_ports"
    with pytest.raises((ValidationError, SystemExit, ValueError)):
        settings_from_env({**SITE, "TEKTON_RUNNER_FORWARD_NFT_TABLE": "x; flush ruleset"})


def test_a_listen_address_limits_the_rule_and_bytes_are_counted_per_direction() -> None:
    script = render([DnatRule("port-18739", 18739, Address("10.0.0.5", 30080), listen_host="10.1.2.3")], table="t")
    lines = [line.strip() for line in script.splitlines()]
    assert lines.count('ip daddr 10.1.2.3 tcp dport 18739 counter dnat to 10.0.0.5:30080 comment "port-18739"') == 2
    counter = 'ct status dnat ct original protocol tcp ct original proto-dst 18739 counter comment "port-18739"'
    assert lines.count(counter) == 2  # once in to_target, once in to_client
    assert 'iif "lo" return' in lines  # packets over lo were counted when sent


def _rule(chain: str, packets: int, octets: int, comment: str = "port-1") -> dict[str, object]:
    return {"rule": {"chain": chain, "comment": comment, "expr": [{"counter": {"packets": packets, "bytes": octets}}]}}


def test_counters_are_read_per_mapping_from_the_listing() -> None:
    listing = {"nftables": [
        {"table": {"name": "t"}}, _rule("prerouting", 2, 120), _rule("output", 1, 60),
        _rule("to_target", 30, 4000), _rule("to_client", 20, 90000), _rule("postrouting", 9, 9),
        _rule("to_target", 1, 100, comment="port-2"),
        {"rule": {"chain": "to_target", "expr": [{"counter": {"packets": 5, "bytes": 5}}]}},  # no comment: not ours
    ]}  # fmt: skip
    assert parse_counts(listing) == {
        "port-1": KernelCounts(connections=3, bytes_to_target=4000, bytes_to_client=90000),
        "port-2": KernelCounts(bytes_to_target=100),
    }
