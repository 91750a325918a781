"""Finds the addresses kind nodes should use for the registry host names; called before a cluster is created.

The runner host resolves `lenovo` (often through its own /etc/hosts); a kind node asks Docker's DNS,
which does not. Resolving here and pinning the answer in the node is what makes the name work there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from ..models.settings import WorkspaceSettings
from .errors import RegistryConfigError
from .kind_config import names_to_pin


def _reachable_from_node(address: str) -> bool:
    # Loopback inside the node is the node itself, not the runner host.
    return not ipaddress.ip_address(address).is_loopback


async def pinned_addresses(settings: WorkspaceSettings) -> dict[str, str]:
    """Registry host name -> IPv4/IPv6 address for the node's /etc/hosts."""
    pins: dict[str, str] = {}
    for name in names_to_pin(settings):
        if settings.registry_address:
            address = settings.registry_address
        else:
            address = await _resolve(name)
        try:
            reachable = _reachable_from_node(address)
        except ValueError as error:
            raise RegistryConfigError(f"registry_address {address!r} is not an IP address") from error
        if not reachable:
            raise RegistryConfigError(
                f"registry host {name} resolves to {address}, a loopback address: inside a kind node that is "
                "the node itself. Set TEKTON_RUNNER_REGISTRY_ADDRESS to an address of the registry that the "
                "node containers can reach (for a registry on this host, the Docker network gateway)"
            )
        pins[name] = address
    return pins


async def _resolve(name: str) -> str:
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise RegistryConfigError(
            f"registry host {name} does not resolve on the runner host either ({error.strerror}); workspace "
            "nodes could not pull from it. Fix the name or set TEKTON_RUNNER_REGISTRY_ADDRESS"
        ) from error
    # Prefer IPv4: kind's default node network is IPv4.
    addresses = sorted({str(answer[4][0]) for answer in answers}, key=lambda a: (":" in a, a))
    return addresses[0]
