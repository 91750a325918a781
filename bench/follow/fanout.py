"""The baseline for the follow benchmark: a bare aiohttp server that fans each posted message out as SSE.

Run: python -m bench.follow.fanout --port P   (POST /publish {"data": ...}; GET /events streams them)
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiohttp import web


def fanout_app() -> web.Application:
    queues: set[asyncio.Queue[bytes | None]] = set()
    seq = 0

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        queues.add(queue)
        try:
            while (message := await queue.get()) is not None:
                await response.write(message)
        finally:
            queues.discard(queue)
        return response

    async def publish(request: web.Request) -> web.Response:
        nonlocal seq
        body = await request.json()
        seq += 1
        message = f"id: {seq}\nevent: step\ndata: {json.dumps(body)}\n\n".encode()
        for queue in list(queues):
            queue.put_nowait(message)
        return web.json_response({"subscribers": len(queues)})

    async def close(request: web.Request) -> web.Response:
        for queue in list(queues):
            queue.put_nowait(None)
        return web.json_response({})

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"subscribers": len(queues)})

    app = web.Application()
    app.router.add_get("/events", events)
    app.router.add_post("/publish", publish)
    app.router.add_post("/close", close)
    app.router.add_get("/count", count)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    web.run_app(fanout_app(), host="127.0.0.1", port=parser.parse_args().port, access_log=None, print=None)
