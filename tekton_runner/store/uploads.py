"""Uploaded source zips and the one-time archive tokens that let a build download them.

With SQLite (one replica) a zip stays a file on local disk and its row names the path. With PostgreSQL the
bytes go into the database in chunks (`upload_chunks`), so a replica that did not receive the upload can
still serve it to the build; the size limit on uploads bounds what one row set holds.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..models.ids import RunId, UploadId
from .database import Database, Row, to_text

CHUNK_BYTES = 1024 * 1024  # one row of upload_chunks; also what one read holds in memory


@dataclass(frozen=True)
class Upload:
    id: UploadId
    path: Path | None  # None: the bytes are held in the database
    size: int
    sha256: str


@dataclass(frozen=True)
class Archive:
    """What an archive token gives: a file on this host, or an upload held in the database."""

    path: Path | None
    upload_id: UploadId | None
    size: int | None  # known for uploads held in the database


def _archive(row: Row) -> Archive:
    upload_id = row["upload_id"]
    return Archive(path=Path(row["path"]) if row["path"] else None,
                   upload_id=UploadId(upload_id) if upload_id else None, size=row["size"])


_TOKEN = ("SELECT archive_tokens.path, archive_tokens.upload_id, uploads.size FROM archive_tokens"
          " LEFT JOIN uploads ON uploads.id = archive_tokens.upload_id WHERE token = ?")


class UploadStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def holds_bytes(self) -> bool:
        """True when zips are kept in the database rather than as files on this host."""
        return self._db.dialect.holds_uploads

    async def add(self, upload: Upload) -> Upload:
        """Records the upload; with the bytes in the database, its file is read into it (and may be deleted)."""
        if not self.holds_bytes:
            await self._db.execute(
                "INSERT INTO uploads (id, path, size, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (upload.id, str(upload.path), upload.size, upload.sha256, to_text(self._db.clock.now())),
            )
            return upload
        assert upload.path is not None
        handle = await asyncio.to_thread(upload.path.open, "rb")
        try:
            async with self._db.transaction() as connection:
                await connection.execute(
                    "INSERT INTO uploads (id, path, size, sha256, created_at) VALUES (?, '', ?, ?, ?)",
                    (upload.id, upload.size, upload.sha256, to_text(self._db.clock.now())),
                )
                number = 0
                while chunk := await asyncio.to_thread(_read, handle):
                    await connection.execute("INSERT INTO upload_chunks (upload_id, number, data) VALUES (?, ?, ?)",
                                             (upload.id, number, chunk))
                    number += 1
        finally:
            await asyncio.to_thread(handle.close)
        return Upload(upload.id, None, upload.size, upload.sha256)

    async def get(self, upload_id: str) -> Upload | None:
        row = await self._db.fetch_one("SELECT * FROM uploads WHERE id = ?", (upload_id,))
        if row is None:
            return None
        return Upload(id=UploadId(row["id"]), path=Path(row["path"]) if row["path"] else None, size=row["size"],
                      sha256=row["sha256"])

    async def content(self, upload_id: UploadId) -> AsyncIterator[bytes]:
        """The bytes of an upload held in the database, one chunk at a time."""
        number = 0
        while row := await self._db.fetch_one(
                "SELECT data FROM upload_chunks WHERE upload_id = ? AND number = ?", (upload_id, number)):
            yield bytes(row["data"])
            number += 1

    async def issue_token(self, run_id: RunId, archive: Upload | Path) -> str:
        """A token for one download of the archive (an upload, or a file on this host) by the run's build."""
        token = secrets.token_urlsafe(24)
        if isinstance(archive, Upload) and archive.path is None:
            path, upload_id = "", archive.id
        else:
            path, upload_id = str(archive.path if isinstance(archive, Upload) else archive), None
        await self._db.execute(
            "INSERT INTO archive_tokens (token, run_id, path, upload_id) VALUES (?, ?, ?, ?)",
            (token, run_id, path, upload_id),
        )
        return token

    async def unredeemed(self, token: str) -> Archive | None:
        """The archive while the token is still unused; the token stays unused."""
        row = await self._db.fetch_one(f"{_TOKEN} AND used_at IS NULL", (token,))
        return _archive(row) if row else None

    async def redeem(self, token: str) -> Archive | None:
        """The archive on the first call with a token, None ever after."""
        async with self._db.transaction() as connection:
            changed = await connection.execute(
                "UPDATE archive_tokens SET used_at = ? WHERE token = ? AND used_at IS NULL",
                (to_text(self._db.clock.now()), token),
            )
            if changed != 1:
                return None
            row = await connection.fetch_one(_TOKEN, (token,))
            return _archive(row) if row else None


def _read(handle: BinaryIO) -> bytes:
    return handle.read(CHUNK_BYTES)
