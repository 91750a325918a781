"""The nftables script for the kernel path replaces the runner's table whole and rejects what it cannot map."""

from __future__ import annotations

import pytest

from tekton_runner.forwarding import Address
from tekton_runner.forwarding.kernel import DnatRule, render


def test_rules_render_as_one_replacing_transaction() -> None:
    script = render([DnatRule("ws-a/app", 18739, Address("10.0.0.5", 30080))], table="t")
    lines = [line.strip() for line in script.splitlines()]
    assert lines[:3] == ["table ip t", "delete table ip t", "table ip t {"]
    dnat = (
        "fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 18739 counter dnat to 10.0.0.5:30080"
        ' comment "ws-a/app"'
    )
    assert lines.count(dnat) == 2  # prerouting (from outside) and output (from this host)
    assert (
        'ip daddr 10.0.0.5 tcp dport 30080 ct status dnat fib daddr type != local masquerade comment "ws-a/app"'
        in lines
    )


def test_no_rules_still_gives_an_empty_owned_table() -> None:
    script = render([], table="t")
    assert "dnat" not in script
    assert "chain prerouting" in script


@pytest.mark.parametrize(
    "rule",
    [
        DnatRule("name", 18000, Address("node-1.local", 30080)),
        DnatRule("v6", 18000, Address("fd00::5", 30080)),
        DnatRule("port", 0, Address("10.0.0.5", 30080)),
    ],
)
def test_targets_the_kernel_path_cannot_take_are_refused(rule: DnatRule) -> None:
    with pytest.raises(ValueError):
        render([rule])


def test_a_port_mapped_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        render([DnatRule("a", 18000, Address("10.0.0.5", 1)), DnatRule("b", 18000, Address("10.0.0.6", 2))])


def test_mapping_ids_cannot_break_out_of_the_comment() -> None:
    script = render([DnatRule('x"; flush ruleset; "', 18000, Address("10.0.0.5", 1))])
    assert 'comment "x___flush_ruleset___"' in script
    assert "; flush" not in script
