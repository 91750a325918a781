"""Stores registered apps (the webhook path): what a push to their branch should deploy."""

from __future__ import annotations

from ..models.apps import AppRegistration, RegisteredApp
from .database import Database, Row, from_text, to_text


def _app(row: Row) -> RegisteredApp:
    created, updated = from_text(row["created_at"]), from_text(row["updated_at"])
    assert created is not None and updated is not None
    return RegisteredApp(
        id=row["id"], registration=AppRegistration.model_validate_json(row["registration_json"]),
        image_repository=row["image_repository"], created_at=created, updated_at=updated,
    )


class AppStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def save(self, registration: AppRegistration, image_repository: str) -> tuple[RegisteredApp, bool]:
        """Creates or replaces the app; True when it is new."""
        now = to_text(self._db.clock.now())
        async with self._db.transaction() as connection:
            existed = await connection.fetch_one(f"SELECT id FROM apps WHERE id = ?{self._db.dialect.for_update}",
                                                 (registration.app_id,)) is not None
            await connection.execute(
                "INSERT INTO apps (id, workspace, app, registration_json, image_repository, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " registration_json = excluded.registration_json, image_repository = excluded.image_repository,"
                " updated_at = excluded.updated_at",
                (registration.app_id, registration.workspace, registration.app.name,
                 registration.model_dump_json(), image_repository, now, now),
            )
        saved = await self.get(registration.app_id)
        assert saved is not None
        return saved, not existed

    async def get(self, app_id: str) -> RegisteredApp | None:
        row = await self._db.fetch_one("SELECT * FROM apps WHERE id = ?", (app_id,))
        return _app(row) if row else None

    async def all(self) -> list[RegisteredApp]:
        return [_app(row) for row in await self._db.fetch_all("SELECT * FROM apps ORDER BY id")]

    async def delete(self, app_id: str) -> bool:
        return await self._db.execute("DELETE FROM apps WHERE id = ?", (app_id,)) == 1
