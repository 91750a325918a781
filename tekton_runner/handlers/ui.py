"""GET /ui and /ui/{asset}: the web page (ui_files/, shipped inside the package), read once at start-up.

The files hold no data (the page reads the API with the user's token), so they are served without the
token; every answer carries a Content-Security-Policy that admits only this origin's script, style and
fetches. app.py installs `load_files` and the routes.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

routes = web.RouteTableDef()

# Script, style and fetches from this origin only; no inline script or style, no frames, no plugins, no forms
# posted by the browser (the page's own script sends them).
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
         "css": "text/css; charset=utf-8"}
PAGE = "index.html"
ASSETS = ("app.js", "app.css")


@dataclass(frozen=True)
class File:
    body: bytes
    content_type: str
    etag: str


FILES = web.AppKey("ui_files", dict[str, File])


def _read() -> dict[str, File]:
    folder = resources.files(__package__ or "tekton_runner.handlers") / "ui_files"
    files = {}
    for name in (PAGE, *ASSETS):
        body = (folder / name).read_bytes()
        files[name] = File(body, TYPES[name.rsplit(".", 1)[1]], f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return files


async def load_files(app: web.Application) -> None:
    app[FILES] = await asyncio.to_thread(_read)


def _answer(request: web.Request, file: File) -> web.Response:
    """The file, or 304 when the browser's copy is current; browsers revalidate each time (no-cache), so a
    new release of the runner shows its page at the next load."""
    headers = {
        "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY", "Cache-Control": "no-cache", "ETag": file.etag,
    }
    if file.etag in request.headers.get("If-None-Match", "").replace(" ", "").split(","):
        return web.Response(status=304, headers=headers)
    return web.Response(body=file.body, headers={**headers, "Content-Type": file.content_type})


@routes.get("/ui")
async def page(request: web.Request) -> web.Response:
    return _answer(request, request.app[FILES][PAGE])


@routes.get("/ui/{asset}")
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    if name not in ASSETS:
        raise web.HTTPNotFound(text=f"no file {name!r} in the web page")
    return _answer(request, request.app[FILES][name])
