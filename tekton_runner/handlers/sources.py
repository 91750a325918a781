"""POST /sources (upload a zip) and GET|HEAD /sources/archive/{token} (the build's one-time download)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from aiohttp import web

from ..models.api import UploadReceipt
from ..models.ids import new_upload_id
from ..store.uploads import Upload
from .archives import PackError, check_zip
from .keys import CONTEXT, SETTINGS
from .problems import body_chunks, invalid_field, problem
from .views import answer

routes = web.RouteTableDef()
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/octet-stream"})
ARCHIVE_LINK = "/sources/archive/{token}"


@routes.post("/sources")
async def upload_source(request: web.Request) -> web.Response:
    settings, ctx = request.app[SETTINGS], request.app[CONTEXT]
    if request.content_type not in ZIP_TYPES:
        return problem(415, "unsupported_media_type", "Content-Type must be application/zip")
    limit = settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        return problem(413, "too_large", f"the zip is larger than {limit} bytes")
    upload_id = new_upload_id()
    await asyncio.to_thread(settings.uploads_dir.mkdir, parents=True, exist_ok=True)
    path = settings.uploads_dir / f"{upload_id}.zip"
    digest = hashlib.sha256()
    size = 0
    kept = False
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        try:
            async for chunk in body_chunks(request):
                size += len(chunk)
                if size > limit:
                    return problem(413, "too_large", f"the zip is larger than {limit} bytes")
                digest.update(chunk)
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)
        if size == 0:
            return invalid_field("body", "the zip is empty")
        await asyncio.to_thread(check_zip, path, max_unpacked=settings.max_unpacked_bytes)
        await ctx.uploads.add(Upload(upload_id, path, size, digest.hexdigest()))
        kept = True
    except PackError as error:
        return invalid_field("body", str(error))
    finally:
        if not kept:
            await asyncio.to_thread(path.unlink, missing_ok=True)
    return answer(UploadReceipt(upload_id=upload_id, size=size, sha256=digest.hexdigest()), status=201)


@routes.get(ARCHIVE_LINK, allow_head=False)
async def download_archive(request: web.Request) -> web.StreamResponse:
    path: Path | None = await request.app[CONTEXT].uploads.redeem(request.match_info["token"])
    if path is None:
        return problem(404, "not_found", "unknown or already used archive link")
    return web.FileResponse(path, headers={"Content-Type": "application/zip"})


@routes.head(ARCHIVE_LINK)
async def probe_archive(request: web.Request) -> web.StreamResponse:
    """What a GET would answer, without using the link up (proxies and link checkers send HEAD first)."""
    path = await request.app[CONTEXT].uploads.unredeemed(request.match_info["token"])
    size = None if path is None else await asyncio.to_thread(_size, path)
    if size is None:
        return problem(404, "not_found", "unknown or already used archive link")
    return web.Response(headers={"Content-Type": "application/zip", "Content-Length": str(size)})


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
