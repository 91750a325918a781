"""Uploaded source zips and the one-time archive tokens that let a build download them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from ..models.ids import RunId, UploadId
from .database import Database, to_text


@dataclass(frozen=True)
class Upload:
    id: UploadId
    path: Path
    size: int
    sha256: str


class UploadStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add(self, upload: Upload) -> None:
        await self._db.execute(
            "INSERT INTO uploads (id, path, size, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
            (upload.id, str(upload.path), upload.size, upload.sha256, to_text(self._db.clock.now())),
        )

    async def get(self, upload_id: str) -> Upload | None:
        row = await self._db.fetch_one("SELECT * FROM uploads WHERE id = ?", (upload_id,))
        if row is None:
            return None
        return Upload(id=UploadId(row["id"]), path=Path(row["path"]), size=row["size"], sha256=row["sha256"])

    async def issue_token(self, run_id: RunId, path: Path) -> str:
        """A token for one download of `path` by the run's build."""
        token = secrets.token_urlsafe(24)
        await self._db.execute(
            "INSERT INTO archive_tokens (token, run_id, path) VALUES (?, ?, ?)", (token, run_id, str(path))
        )
        return token

    async def unredeemed(self, token: str) -> Path | None:
        """The archive's path while the token is still unused; the token stays unused."""
        row = await self._db.fetch_one("SELECT path FROM archive_tokens WHERE token = ? AND used_at IS NULL",
                                       (token,))
        return Path(row["path"]) if row else None

    async def redeem(self, token: str) -> Path | None:
        """The archive's path on the first call with a token, None ever after."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE archive_tokens SET used_at = ? WHERE token = ? AND used_at IS NULL",
                (to_text(self._db.clock.now()), token),
            )
            if cursor.rowcount != 1:
                return None
            async with connection.execute("SELECT path FROM archive_tokens WHERE token = ?", (token,)) as rows:
                row = await rows.fetchone()
            return Path(row["path"]) if row else None
