"""The baseline: a bare aiohttp handler that parses the JSON body and answers 202 with a small JSON.

Run: python -m bench.api.echo --port P [--loop uvloop|asyncio]   (uvloop by default, as `tekton-runner serve`)
"""

from __future__ import annotations

import argparse
import asyncio
import secrets

import uvloop
from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    reply = {"run_id": "r-" + secrets.token_hex(8), "state": "pending", "workspace": body.get("workspace")}
    return web.json_response(reply, status=202)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/run", echo)
    loop = uvloop.new_event_loop() if args.loop == "uvloop" else asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
