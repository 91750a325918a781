"""Serves one accepted client (connect to the target, run an engine, idle timeout); probe() for /endpoint,
connect_error() for the forward step."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from . import splicing, transports
from .errors import IdleTimeout
from .stats import Address, MappingCounters, PathName, Traffic

log = logging.getLogger(__name__)

EngineName = Literal["auto", "splice", "splice-always", "transports"]


class Session(Protocol):
    """What an engine returns: `done` settles when the pair has ended; abort() ends it now."""

    @property
    def done(self) -> asyncio.Future[None]: ...

    def abort(self, exc: BaseException | None = None) -> None: ...


Engine = Callable[[socket.socket, socket.socket, Traffic], Awaitable[Session]]


def pick_engine(name: EngineName) -> Engine:
    """Map an engine name to its entry point; "auto" is splice where the platform has it."""
    if name == "splice" or (name == "auto" and splicing.available()):
        return splicing.start_splice
    if name == "splice-always":
        return splicing.start_splice_always
    return transports.start_transports


def relay_path(name: EngineName) -> PathName:
    """How /external-map names the relay an engine setting ends up with."""
    return "splice" if pick_engine(name) in (splicing.start_splice, splicing.start_splice_always) else "asyncio"


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """Per-table knobs that every connection of every mapping uses."""

    engine: EngineName = "auto"
    connect_timeout: float = 5.0
    # Seconds without a byte in either direction before the pair is closed; None keeps idle pairs forever.
    idle_timeout: float | None = 600.0


async def connect_target(target: Address) -> socket.socket:
    """Open a non-blocking TCP connection to the target, resolving its name if it is not a literal."""
    loop = asyncio.get_running_loop()
    infos: list[tuple[socket.AddressFamily, Any]]
    try:
        ip = ipaddress.ip_address(target.host)
        infos = [(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, (target.host, target.port))]
    except ValueError:
        found = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        infos = [(family, sockaddr) for family, _, _, _, sockaddr in found]
    last: OSError = OSError(f"{target} resolved to no address")
    for family, sockaddr in infos:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last


async def probe(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a TCP connection to host:port completes within `timeout` seconds; closes it at once."""
    return await connect_error(host, port, timeout) is None


async def connect_error(host: str, port: int, timeout: float = 1.0) -> str | None:
    """Why a TCP connection to host:port, opened as the relay opens its target's, did not complete within
    `timeout` seconds (`Connection refused`, `timed out after 2s`); None when it did (it is closed at once)."""
    try:
        async with asyncio.timeout(timeout):
            sock = await connect_target(Address(host, port))
    except TimeoutError:
        return f"timed out after {timeout:g}s"
    except socket.gaierror as exc:  # its errno is the resolver's code, which os.strerror does not know
        return f"cannot resolve {host}: {exc.strerror}"
    except OSError as exc:
        return _describe(exc)
    sock.close()
    return None


def _describe(exc: OSError) -> str:
    # asyncio's connect errors carry a generic message; the errno's own text is what operators recognise.
    return os.strerror(exc.errno) if exc.errno else str(exc)


def tune(sock: socket.socket) -> None:
    """Relayed bytes are already segmented by the peers: do not delay them again (Nagle)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _IdleWatch:
    """Aborts a session when its byte count has not moved over a whole timeout period."""

    def __init__(self, session: Session, traffic: Traffic, timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._session = session
        self._traffic = traffic
        self._timeout = timeout
        self._seen = traffic.total
        self._handle = self._loop.call_later(timeout, self._check)

    def _check(self) -> None:
        total = self._traffic.total
        if total == self._seen:
            self._session.abort(IdleTimeout(f"no traffic for {self._timeout:g}s"))
        else:
            self._seen = total
            self._handle = self._loop.call_later(self._timeout, self._check)

    def cancel(self) -> None:
        self._handle.cancel()


async def serve_client(
    client: socket.socket, target: Address, engine: Engine, options: RelayOptions, counters: MappingCounters
) -> None:
    """Relay one accepted client to `target` until both ends finish; never raises except on cancel."""
    traffic = counters.opened()
    session: Session | None = None
    watch: _IdleWatch | None = None
    try:
        try:
            async with asyncio.timeout(options.connect_timeout):
                upstream = await connect_target(target)
        except (OSError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else _describe(exc)
            counters.failed(f"connect to {target}: {reason}", connect=True)
            return
        tune(client)
        tune(upstream)
        try:
            session = await engine(client, upstream, traffic)
        except OSError as exc:
            upstream.close()
            counters.failed(f"relay to {target}: {_describe(exc)}")
            return
        except BaseException:
            upstream.close()
            raise
        if options.idle_timeout is not None:
            watch = _IdleWatch(session, traffic, options.idle_timeout)
        try:
            await session.done
        except IdleTimeout:
            pass  # an idle pair is an ordinary end, not a fault of the mapping
        except OSError as exc:
            counters.failed(f"relay to {target}: {_describe(exc)}")
    finally:
        if watch is not None:
            watch.cancel()
        if session is not None:
            session.abort()
        client.close()
        counters.closed(traffic)
