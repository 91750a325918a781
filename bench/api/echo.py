"""The baselines: a bare aiohttp handler that parses the JSON body and answers 202 with a small JSON; with
`--forward URL`, the same handler that also POSTs the body to URL (the EventListener stand-in) before it
answers, with aiohttp's client on a kept-alive session: the least work of any service that sends one HTTP
request to Tekton for each run, with nothing stored and nothing checked.

Run: python -m bench.api.echo --port P [--forward URL] [--loop uvloop|asyncio]   (uvloop by default, as
`tekton-runner serve`)
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web

SESSION = web.AppKey("session", aiohttp.ClientSession)
FORWARD = web.AppKey("forward", str)


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    run_id = "r-" + secrets.token_hex(8)
    if FORWARD in request.app:
        event = {"run_id": run_id, "image": f"harbor.bench/library/{body.get('workspace')}:{run_id}"}
        async with request.app[SESSION].post(request.app[FORWARD], json=event) as response:
            await response.read()
    reply = {"run_id": run_id, "state": "pending", "workspace": body.get("workspace")}
    return web.json_response(reply, status=202)


async def client_session(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[SESSION] = session
        yield


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--forward", default=None)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/run", echo)
    if args.forward:
        app[FORWARD] = args.forward
        app.cleanup_ctx.append(client_session)
    loop = uvloop.new_event_loop() if args.loop == "uvloop" else asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
