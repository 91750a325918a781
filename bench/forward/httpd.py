"""Tiny keep-alive HTTP/1.1 server for the forwarding benchmark: answers every request with a fixed 2-byte body."""

from __future__ import annotations

import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
CLOSING = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Http(asyncio.Protocol):
    """Counts request heads (a blank line ends each; the benchmark sends no bodies) and answers them."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        out = []
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            if b"connection: close" in head.lower():
                out.append(CLOSING)
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            out.append(RESPONSE)
        if out:
            self.transport.write(b"".join(out))


async def serve(port: int, host: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, host, port, backlog=4096)
    print(f"listening {host}:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    HOST = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    try:
        import uvloop

        uvloop.run(serve(int(sys.argv[1]), HOST))
    except ImportError:
        asyncio.run(serve(int(sys.argv[1]), HOST))
