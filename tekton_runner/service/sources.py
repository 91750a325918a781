"""Build sources: zip uploads, the build's one-time archive links, and the checks a run's source must pass.

Called by the sources handlers (uploads and links) and by the runs service (a run's source).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from ..models.api import UploadReceipt
from ..models.ids import RunId, new_upload_id, packed_upload_id
from ..models.settings import Settings
from ..models.spec import LocalSource, RunSpec, ZipSource
from ..store.uploads import Archive, Upload, UploadStore
from .archives import PackError, check_zip, pack_directory
from .errors import ArchiveLinkUnknown, InvalidField, TooLarge


class Sources:
    def __init__(self, settings: Settings, uploads: UploadStore) -> None:
        self._settings = settings
        self._uploads = uploads

    async def upload(self, chunks: AsyncIterable[bytes]) -> UploadReceipt:
        """Stores a zip as it arrives and checks it; nothing is kept unless it passes."""
        settings, limit = self._settings, self._settings.max_upload_bytes
        upload_id = new_upload_id()
        await asyncio.to_thread(settings.uploads_dir.mkdir, parents=True, exist_ok=True)
        path = settings.uploads_dir / f"{upload_id}.zip"
        digest = hashlib.sha256()
        size = 0
        kept = False
        handle = await asyncio.to_thread(path.open, "wb")
        try:
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge("the zip", limit)
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            if size == 0:
                raise InvalidField("body", "the zip is empty")
            await asyncio.to_thread(check_zip, path, max_unpacked=settings.max_unpacked_bytes)
            stored = await self._uploads.add(Upload(upload_id, path, size, digest.hexdigest()))
            kept = stored.path is not None  # else the bytes are in the database and the file is done with
        except PackError as error:
            raise InvalidField("body", str(error)) from error
        finally:
            if not kept:
                await asyncio.to_thread(path.unlink, missing_ok=True)
        return UploadReceipt(upload_id=upload_id, size=size, sha256=digest.hexdigest())

    async def redeem(self, token: str) -> Archive:
        """The archive behind a one-time link, which is used up by this call: a file on this host, or an
        upload held in the database (read it with `content`)."""
        archive = await self._uploads.redeem(token)
        if archive is None:
            raise ArchiveLinkUnknown()
        return archive

    def content(self, archive: Archive) -> AsyncIterator[bytes]:
        assert archive.upload_id is not None
        return self._uploads.content(archive.upload_id)

    async def archive_size(self, token: str) -> int:
        """The size of the archive a link would give, without using the link up."""
        archive = await self._uploads.unredeemed(token)
        size = None
        if archive is not None:
            size = archive.size if archive.path is None else await asyncio.to_thread(_size, archive.path)
        if size is None:
            raise ArchiveLinkUnknown()
        return size

    async def check(self, spec: RunSpec) -> None:
        """A zip source names a stored upload; a local source lies under an allowed root."""
        source, roots = spec.source, self._settings.local_roots
        if isinstance(source, ZipSource) and await self._uploads.get(source.upload_id) is None:
            raise InvalidField("source.upload_id", f"no upload {source.upload_id}; POST the zip to /sources first")
        if isinstance(source, LocalSource):
            inside = await asyncio.to_thread(_within, Path(source.path), roots)
            if not roots or not inside:
                allowed = ", ".join(str(root) for root in roots) or "none configured"
                raise InvalidField("source.path", f"must be a directory under an allowed root ({allowed})")

    async def pack(self, spec: RunSpec, run_id: RunId) -> None:
        """Zips a local source for the build to download; other sources need nothing. Where uploads are held
        in the database the zip goes there too, so that any replica can serve it."""
        source = spec.source
        if not isinstance(source, LocalSource):
            return
        packed = self._settings.packed_source(run_id)
        try:
            size = await asyncio.to_thread(pack_directory, Path(source.path), packed,
                                           limit=self._settings.max_upload_bytes)
        except PackError as error:
            raise InvalidField("source.path", str(error)) from error
        if self._uploads.holds_bytes:
            sha256 = await asyncio.to_thread(_sha256, packed)
            await self._uploads.add(Upload(packed_upload_id(run_id), packed, size, sha256))
            await asyncio.to_thread(packed.unlink, missing_ok=True)


def _within(path: Path, roots: tuple[Path, ...]) -> bool:
    resolved = path.resolve()
    return any(resolved == root.resolve() or root.resolve() in resolved.parents for root in roots)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
