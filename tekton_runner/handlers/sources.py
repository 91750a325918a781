"""POST /sources (upload a zip) and GET|HEAD /sources/archive/{token} (the build's one-time download).

The Content-Type and Content-Length are checked here; storing and checking the zip is service/sources.py's.
"""

from __future__ import annotations

from aiohttp import web

from .keys import SETTINGS, SOURCES
from .problems import body_chunks, problem
from .views import answer

routes = web.RouteTableDef()
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/octet-stream"})
ARCHIVE_LINK = "/sources/archive/{token}"


@routes.post("/sources")
async def upload_source(request: web.Request) -> web.Response:
    if request.content_type not in ZIP_TYPES:
        return problem(415, "unsupported_media_type", "Content-Type must be application/zip")
    limit = request.app[SETTINGS].max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        return problem(413, "too_large", f"the zip is larger than {limit} bytes")
    return answer(await request.app[SOURCES].upload(body_chunks(request)), status=201)


@routes.get(ARCHIVE_LINK, allow_head=False)
async def download_archive(request: web.Request) -> web.StreamResponse:
    sources = request.app[SOURCES]
    archive = await sources.redeem(request.match_info["token"])
    if archive.path is not None:
        return web.FileResponse(archive.path, headers={"Content-Type": "application/zip"})
    # Held in the database (several replicas): streamed a chunk at a time, whichever replica received it.
    response = web.StreamResponse(headers={"Content-Type": "application/zip", "Content-Length": str(archive.size)})
    await response.prepare(request)
    async for chunk in sources.content(archive):
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.head(ARCHIVE_LINK)
async def probe_archive(request: web.Request) -> web.StreamResponse:
    """What a GET would answer, without using the link up (proxies and link checkers send HEAD first)."""
    size = await request.app[SOURCES].archive_size(request.match_info["token"])
    return web.Response(headers={"Content-Type": "application/zip", "Content-Length": str(size)})
