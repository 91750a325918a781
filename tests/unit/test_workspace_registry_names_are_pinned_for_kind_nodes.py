"""The registry names kind nodes must resolve get addresses here, or a clear reason why they cannot."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from typing import Any

import pytest

from tekton_runner.models.settings import WorkspaceSettings
from tekton_runner.workspaces.errors import RegistryConfigError
from tekton_runner.workspaces.resolving import pinned_addresses

BASE = WorkspaceSettings(provisioner="kind", registry_host="lenovo:8443")


def answers(*addresses: str) -> Any:
    async def getaddrinfo(host: str, port: object, **_: object) -> list[tuple[Any, ...]]:
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses
        ]
    return getaddrinfo


async def test_the_configured_address_is_pinned_for_every_registry_name() -> None:
    settings = replace(BASE, registry_address="192.168.1.20", mirror_prefix="mirror.lan/hub")
    assert await pinned_addresses(settings) == {"lenovo": "192.168.1.20", "mirror.lan": "192.168.1.20"}


async def test_names_are_resolved_on_the_runner_host_preferring_ipv4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", answers("fd00::20", "192.168.1.20"))
    assert await pinned_addresses(BASE) == {"lenovo": "192.168.1.20"}


async def test_ip_literal_registries_need_no_pin() -> None:
    assert await pinned_addresses(replace(BASE, registry_host="192.168.1.20:8443")) == {}
    assert await pinned_addresses(replace(BASE, registry_host="[fd00::20]:8443")) == {}


async def test_an_unresolvable_registry_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", answers())
    with pytest.raises(RegistryConfigError, match=r"lenovo does not resolve.*TEKTON_RUNNER_REGISTRY_ADDRESS"):
        await pinned_addresses(BASE)


async def test_a_loopback_answer_is_refused_because_the_node_cannot_use_it() -> None:
    with pytest.raises(RegistryConfigError, match="loopback") as caught:
        await pinned_addresses(replace(BASE, registry_host="localhost:5000"))
    assert caught.value.reason == "RegistryUnreachable" and not caught.value.temporary


async def test_a_registry_address_that_is_not_an_ip_is_refused() -> None:
    with pytest.raises(RegistryConfigError, match="not an IP address"):
        await pinned_addresses(replace(BASE, registry_address="harbor.lan"))
