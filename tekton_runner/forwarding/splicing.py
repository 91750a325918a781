"""Splice relay engine (Linux): small reads copied, bulk moved socket -> pipe -> socket with os.splice."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import socket
import threading
from collections.abc import Callable

from .stats import Traffic
from .transports import TransportSession, arm_reset, start_transports

_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
# Rounds of splice per readiness callback before yielding, so one busy stream cannot starve the others.
_ROUNDS = 16
_IDLE, _READ, _WRITE, _DONE, _YIELD = range(5)
# 1 MiB measured lowest CPU per GB relayed (64 KiB, 256 KiB, 1 MiB tried; docs/forwarding.md).
PIPE_SIZE = 1 << 20
MIN_PIPE_SIZE = 64 << 10
# Reads shorter than this are copied through user space (recv+send beats two splices for small
# messages); the first read that fills it switches the direction to splice for good.
COPY_CHUNK = 64 << 10
_scratch = threading.local()


class PipeStarved(OSError):
    """The kernel would only give a pipe too small to splice through efficiently."""


def available() -> bool:
    """Whether this platform has os.splice and pipe resizing (Linux)."""
    return hasattr(os, "splice") and hasattr(fcntl, "F_SETPIPE_SZ")


class _Direction:
    """One direction of a connection: src socket -> kernel pipe -> dst socket."""

    __slots__ = (
        "_account",
        "_cap",
        "_copying",
        "_dst",
        "_dst_sock",
        "_eof",
        "_finished",
        "_loop",
        "_pending",
        "_pr",
        "_pw",
        "_src",
        "_src_sock",
        "_wait",
        "closed",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        src: socket.socket,
        dst: socket.socket,
        account: Callable[[int], None],
        finished: Callable[[BaseException | None], None],
        pipe_size: int,
        copy_small: bool,
    ) -> None:
        self._loop = loop
        self._src = src.fileno()
        self._src_sock = src
        self._dst = dst.fileno()
        self._dst_sock = dst
        self._account = account
        self._finished = finished
        self._pr, self._pw = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self._pw, fcntl.F_SETPIPE_SZ, pipe_size)
        except OSError:
            pass  # not allowed to grow: whatever the kernel gave may still be enough, checked below
        self._cap = fcntl.fcntl(self._pw, fcntl.F_GETPIPE_SZ)
        if self._cap < MIN_PIPE_SIZE:
            # An unprivileged user over fs.pipe-user-pages-soft gets one-page pipes: too slow to use.
            self.closed = True
            os.close(self._pr)
            os.close(self._pw)
            raise PipeStarved(self._cap)
        self._pending = 0
        self._copying = copy_small
        self._eof = False
        self._wait = _IDLE
        self.closed = False

    def start(self) -> None:
        self._step()

    def _step(self) -> None:
        if self.closed:
            return
        try:
            want = self._pump()
        except OSError as exc:
            self.close()
            self._finished(exc)
            return
        if want == _DONE:
            self.close()
            try:
                self._dst_sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the peer is gone already; the other direction will see it
            self._finished(None)
        elif want == _YIELD:
            self._set_wait(_IDLE)
            self._loop.call_soon(self._step)
        else:
            self._set_wait(want)

    def _pump(self) -> int:
        splice = os.splice
        for _ in range(_ROUNDS):
            if self._copying and not self._pending and not self._eof:
                want = self._copy()
                if want != _YIELD:
                    return want
                continue
            drained_src = False
            if not self._eof and self._pending < self._cap:
                room = self._cap - self._pending
                try:
                    n = splice(self._src, self._pw, room, flags=_FLAGS)
                except BlockingIOError:
                    drained_src = True
                else:
                    if n:
                        self._pending += n
                        # Less than asked for: the socket queue is empty now. Waiting for readiness
                        # saves the splice that would only say EAGAIN (one syscall per small message).
                        drained_src = n < room
                    else:
                        self._eof = True
            if self._pending:
                try:
                    m = splice(self._pr, self._dst, self._pending, flags=_FLAGS)
                except BlockingIOError:
                    return _WRITE
                self._pending -= m
                self._account(m)
            elif self._eof:
                return _DONE
            elif drained_src:
                return _READ
        return _YIELD

    def _copy(self) -> int:
        """One small read passed on by recv/send; what the destination refuses waits in the pipe."""
        buf: memoryview | None = getattr(_scratch, "buf", None)
        if buf is None:
            # One buffer per thread is enough: a callback never yields between its recv and its send.
            buf = _scratch.buf = memoryview(bytearray(COPY_CHUNK))
        try:
            n = self._src_sock.recv_into(buf)
        except BlockingIOError:
            return _READ
        if n == 0:
            self._eof = True
            return _YIELD
        if n == len(buf):
            self._copying = False  # a bulk stream: splice from now on
        try:
            m = self._dst_sock.send(buf[:n])
        except BlockingIOError:
            m = 0
        self._account(m)
        if m < n:
            # The pipe is empty and holds at least COPY_CHUNK, so the rest always fits.
            self._pending = os.write(self._pw, buf[m:n])
            if self._pending != n - m:
                raise OSError(errno.EIO, "relay pipe refused buffered bytes")
            return _YIELD
        return _YIELD if n == len(buf) else _READ

    def _set_wait(self, want: int) -> None:
        if want == self._wait:
            return
        if self._wait == _READ:
            self._loop.remove_reader(self._src)
        elif self._wait == _WRITE:
            self._loop.remove_writer(self._dst)
        if want == _READ:
            self._loop.add_reader(self._src, self._step)
        elif want == _WRITE:
            self._loop.add_writer(self._dst, self._step)
        self._wait = want

    def close(self) -> None:
        """Stop watching the sockets and free the pipe; bytes still in the pipe are dropped."""
        if self.closed:
            return
        self._set_wait(_IDLE)
        self.closed = True
        os.close(self._pr)
        os.close(self._pw)


class SpliceSession:
    """Relays one client/target pair in both directions until both have ended or one fails."""

    def __init__(
        self, client: socket.socket, target: socket.socket, traffic: Traffic, pipe_size: int, copy_small: bool
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._socks = (client, target)
        self.done: asyncio.Future[None] = self._loop.create_future()
        self._open = 2

        def to_target(n: int) -> None:
            traffic.to_target += n

        def to_client(n: int) -> None:
            traffic.to_client += n

        up = _Direction(self._loop, client, target, to_target, self._direction_finished, pipe_size, copy_small)
        try:
            down = _Direction(self._loop, target, client, to_client, self._direction_finished, pipe_size, copy_small)
        except OSError:
            up.close()
            raise
        self._directions = (up, down)

    def start(self) -> None:
        for direction in self._directions:
            direction.start()

    def _direction_finished(self, exc: BaseException | None) -> None:
        self._open -= 1
        if exc is not None:
            self.abort(exc)
        elif self._open == 0:
            self.abort()

    def abort(self, exc: BaseException | None = None) -> None:
        """Stop both directions, close both sockets and settle `done` (idempotent); an OSError resets both."""
        for direction in self._directions:
            direction.close()
        for sock in self._socks:
            if isinstance(exc, OSError) and sock.fileno() >= 0:
                arm_reset(sock)
            sock.close()
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)


async def start_splice(
    client: socket.socket, target: socket.socket, traffic: Traffic, *, copy_small: bool = True
) -> SpliceSession | TransportSession:
    """Engine entry point: start relaying at once; fall back to transports when no pipe can be had."""
    try:
        session = SpliceSession(client, target, traffic, PIPE_SIZE, copy_small)
    except OSError:
        # Rationed pipes (PipeStarved) or no descriptors left for them (EMFILE): the transports engine
        # needs no more descriptors than the two sockets already open.
        return await start_transports(client, target, traffic)
    session.start()
    return session


async def start_splice_always(
    client: socket.socket, target: socket.socket, traffic: Traffic
) -> SpliceSession | TransportSession:
    """Engine entry point that splices every read, small ones too (kept for the benchmark)."""
    return await start_splice(client, target, traffic, copy_small=False)
