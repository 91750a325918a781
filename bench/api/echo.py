"""The baseline: a bare aiohttp handler that parses the JSON body and answers 202 with a small JSON.

Run: python -m bench.api.echo --port P
"""

from __future__ import annotations

import argparse
import secrets

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    body = await request.json()
    reply = {"run_id": "r-" + secrets.token_hex(8), "state": "pending", "workspace": body.get("workspace")}
    return web.json_response(reply, status=202)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/run", echo)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
