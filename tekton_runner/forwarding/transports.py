"""Portable relay engine: a pair of asyncio Protocols that pass chunks across with transport flow control."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import cast

from .stats import Traffic

# Per-side write buffer bounds: above HIGH the peer stops reading until the buffer is below LOW again.
HIGH_WATER = 1 << 20
LOW_WATER = 256 << 10
_LINGER_ZERO = struct.pack("ii", 1, 0)


def arm_reset(sock: socket.socket | None) -> None:
    """Make the coming close send RST: a peer cut short must not look like a clean end of stream."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)


class _Side(asyncio.Protocol):
    """One socket of the pair; what it receives is written to the peer side's transport."""

    def __init__(self, session: TransportSession, to_target: bool) -> None:
        self._session = session
        self._to_target = to_target
        self.peer: _Side
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not inherit asyncio.Transport, though they implement it.
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        # Nothing may be read before both sides exist; the session resumes both once they do.
        transport.pause_reading()
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)

    def data_received(self, data: bytes) -> None:
        if not self._session.started:
            # uvloop may deliver data before both transports exist, despite pause_reading().
            self.early.append(data)
            return
        peer = self.peer.transport
        assert peer is not None
        peer.write(data)
        if self._to_target:
            self._session.traffic.to_target += len(data)
        else:
            self._session.traffic.to_client += len(data)

    def eof_received(self) -> bool:
        self.eof = True
        if self._session.started:
            self._pass_eof()
        return True  # keep our write side open: the other direction goes on

    def _pass_eof(self) -> None:
        assert self.peer.transport is not None
        self.peer.transport.write_eof()
        self._session.side_ended()

    def pass_early_data(self) -> None:
        early, self.early = self.early, []
        for data in early:
            self.data_received(data)

    def start_reading(self) -> None:
        """After the early data of both sides went out: pass an early EOF on, or start reading."""
        assert self.transport is not None
        if self.eof:
            self._pass_eof()
        else:
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        if self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer.transport is not None and not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._session.side_lost(exc)


class TransportSession:
    """Relays one client/target pair through two asyncio transports."""

    def __init__(self, traffic: Traffic) -> None:
        self._loop = asyncio.get_running_loop()
        self.traffic = traffic
        self.done: asyncio.Future[None] = self._loop.create_future()
        self.client = _Side(self, to_target=True)
        self.target = _Side(self, to_target=False)
        self.client.peer = self.target
        self.target.peer = self.client
        self._lost = 0
        self.started = False

    def _transports(self) -> list[asyncio.Transport]:
        return [t for t in (self.client.transport, self.target.transport) if t is not None]

    def side_ended(self) -> None:
        if self.client.eof and self.target.eof:
            for transport in self._transports():
                transport.close()  # flushes what is buffered, then closes

    def side_lost(self, exc: Exception | None) -> None:
        self._lost += 1
        if exc is not None:
            self.abort(exc)
        elif self._lost == 2 or not (self.client.eof and self.target.eof):
            # A side that closed without a clean EOF on both directions ends the pair.
            self.abort()

    def abort(self, exc: BaseException | None = None) -> None:
        """Drop both transports at once and settle `done` (idempotent); an OSError resets both peers."""
        for transport in self._transports():
            if isinstance(exc, OSError) and not transport.is_closing():
                arm_reset(transport.get_extra_info("socket"))
            transport.abort()
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)


async def start_transports(client: socket.socket, target: socket.socket, traffic: Traffic) -> TransportSession:
    """Engine entry point: wrap both sockets in transports, then let bytes flow."""
    loop = asyncio.get_running_loop()
    session = TransportSession(traffic)
    try:
        await loop.connect_accepted_socket(lambda: session.client, sock=client)
        await loop.create_connection(lambda: session.target, sock=target)
    except BaseException:
        session.abort()
        client.close()
        target.close()
        raise
    session.started = True
    for side in (session.client, session.target):
        side.pass_early_data()
    for side in (session.client, session.target):
        side.start_reading()
    return session
