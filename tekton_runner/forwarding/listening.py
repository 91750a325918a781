"""Binds listener sockets (turning EADDRINUSE into PortUnavailable) and runs their accept loops."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

from .errors import ListenFailed, PortUnavailable
from .stats import Address

log = logging.getLogger(__name__)

# accept() errors that say "the process or host is out of something": wait and try again, do not stop.
_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
RESOURCE_BACKOFF = 0.1


async def bind(host: str, port: int, backlog: int) -> socket.socket:
    """Return a non-blocking listening socket on host:port (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    # An empty host means every IPv4 address; left to getaddrinfo it may come back as an IPv6-only "::".
    host = host or "0.0.0.0"
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenFailed(host, port, str(exc)) from exc
    family, _, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        # SO_REUSEADDR only lets us re-bind over TIME_WAIT after a restart; on Linux it does not allow
        # a second listener on the port, so a port held by someone else still fails below.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(host, port) from exc
        raise ListenFailed(host, port, exc.strerror or str(exc)) from exc
    return sock


def bound_address(sock: socket.socket) -> Address:
    """The address a listener actually holds (useful after binding port 0)."""
    name = sock.getsockname()
    return Address(str(name[0]), int(name[1]))


async def accept_loop(
    listener: socket.socket,
    on_client: Callable[[socket.socket], None],
    on_error: Callable[[str], None],
) -> None:
    """Accept clients forever, handing each to `on_client`; stops only when cancelled."""
    loop = asyncio.get_running_loop()
    starved = False
    while True:
        try:
            client, _ = await loop.sock_accept(listener)
        except ConnectionAbortedError:
            continue  # the client gave up while queued; nothing to serve
        except OSError as exc:
            if exc.errno not in _RESOURCE_ERRNOS:
                raise
            on_error(f"accept: {exc.strerror or exc}")
            if not starved:  # once per episode, not every RESOURCE_BACKOFF
                log.warning("accept on %s failed (%s); retrying until it works", bound_address(listener), exc)
            starved = True
            await asyncio.sleep(RESOURCE_BACKOFF)
            continue
        if starved:
            log.warning("accept on %s works again", bound_address(listener))
            starved = False
        client.setblocking(False)
        on_client(client)
