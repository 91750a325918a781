"""A TCP proxy between a store and PostgreSQL that can lose the reply of a COMMIT the server made.

It forwards the wire protocol both ways message by message, and remembers each connection's prepared
statements so that it knows the text of every statement executed. Told to lose a reply, it waits for a
transaction that executed a statement containing a marker (`INSERT INTO runs`), forwards that transaction's
COMMIT, holds back the server's answer until its CommandComplete says COMMIT (the server has committed), and
then cuts both connections: the client sees a dropped connection, as when the network fails at that moment.
The URL it serves needs `sslmode=disable` (it reads no TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

_CUT = (asyncio.IncompleteReadError, ConnectionError)


class _Link:
    """One client connection and its server connection."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client, self.server = client, server
        self.statements: dict[bytes, bytes] = {}  # prepared statement name -> its text
        self.marked = False  # the open transaction executed a statement with the marker
        self.cutting = False  # its COMMIT went to the server: the reply is not passed on

    def cut(self) -> None:
        self.client.transport.abort()
        self.server.transport.abort()


class LossyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._url_parts = parts
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._marker = b""
        self._skip = 0
        self._armed = False
        self.lost = 0  # COMMIT replies lost (each after the server committed)
        self.executed = 0  # statements executed that contained the marker

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        user = f"{self._url_parts.username}:{self._url_parts.password}@" if self._url_parts.username else ""
        return urlunsplit(self._url_parts._replace(netloc=f"{user}127.0.0.1:{port}"))

    def lose_commit_reply(self, marker: bytes, *, skip: int = 0) -> None:
        """The reply of one COMMIT is lost: that of the first transaction after `skip` others that executed a
        statement containing `marker`. `executed` counts those statements from now."""
        self._marker, self._skip, self._armed, self.executed = marker, skip, True, 0

    async def _serve(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        server_reader, server = await asyncio.open_connection(*self._upstream)
        link = _Link(client, server)
        self._links.add(link)
        try:
            async with asyncio.TaskGroup() as pumps:
                pumps.create_task(self._from_client(link, client_reader))
                pumps.create_task(self._from_server(link, server_reader))
        finally:
            self._links.discard(link)
            link.cut()

    async def _from_client(self, link: _Link, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(*_CUT):
            startup = await reader.readexactly(4)  # the startup message has no type byte
            link.server.write(startup + await reader.readexactly(int.from_bytes(startup) - 4))
            while True:
                header = await reader.readexactly(5)
                body = await reader.readexactly(int.from_bytes(header[1:]) - 4)
                self._note(link, header[:1], body)
                link.server.write(header + body)
        link.cut()

    def _note(self, link: _Link, kind: bytes, body: bytes) -> None:
        """Follows what the client executes: Parse names a statement's text, Bind and Query execute one."""
        if kind == b"P":
            name, text = body.split(b"\0", 2)[:2]
            link.statements[name] = text
            return
        if kind == b"B":
            text = link.statements.get(body.split(b"\0", 2)[1], b"")
        elif kind == b"Q":
            text = body.rstrip(b"\0")
        else:
            return
        if self._marker and self._marker in text:
            link.marked = True
            self.executed += 1
        elif text.upper().startswith((b"BEGIN", b"ROLLBACK")):
            link.marked = False
        elif text.upper().startswith(b"COMMIT"):
            if link.marked and self._armed:
                if self._skip == 0:
                    self._armed = False
                    link.cutting = True
                self._skip -= 1
            link.marked = False

    async def _from_server(self, link: _Link, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(*_CUT):
            while True:
                header = await reader.readexactly(5)
                body = await reader.readexactly(int.from_bytes(header[1:]) - 4)
                if not link.cutting:
                    link.client.write(header + body)
                elif header[:1] == b"C" and body.startswith(b"COMMIT"):
                    self.lost += 1
                    break
        link.cut()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LossyProxy]:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        try:
            yield self
        finally:
            self._server.close()
            for link in list(self._links):
                link.cut()
            await self._server.wait_closed()
