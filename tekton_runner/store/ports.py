"""Durable external-port allocations: one port per workspace app, chosen from a range or requested.

Safe with several replicas on one database: the ports table's keys refuse a second owner of a port or a
second port of an app, and an allocation that loses such a race runs again and sees the winner's row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .database import Connection, Database, Row, UniqueViolation, from_text, to_text

# A writer that lost a race for a port (another replica stored it first) looks again this many times.
ATTEMPTS = 8


class PortTaken(Exception):
    """The requested external port belongs to another workspace app."""

    def __init__(self, port: int, owner: str) -> None:
        super().__init__(f"external port {port} is already mapped to {owner}")
        self.port = port
        self.owner = owner


class PortRangeExhausted(Exception):
    pass


@dataclass(frozen=True)
class PortMapping:
    port: int
    workspace: str
    app: str
    run_id: str
    target_host: str | None
    target_port: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def owner(self) -> str:
        return f"{self.workspace}/{self.app}"


def _mapping(row: Row) -> PortMapping:
    created, updated = from_text(row["created_at"]), from_text(row["updated_at"])
    assert created is not None and updated is not None
    return PortMapping(
        port=row["port"], workspace=row["workspace"], app=row["app"], run_id=row["run_id"],
        target_host=row["target_host"], target_port=row["target_port"],
        created_at=created, updated_at=updated,
    )


class PortStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def allocate(
        self, *, workspace: str, app: str, run_id: str, requested: int | None,
        port_range: tuple[int, int], unusable: frozenset[int] = frozenset(),
    ) -> PortMapping:
        """The app keeps its port across redeploys; a requested port owned by another app is PortTaken."""
        for _ in range(ATTEMPTS):
            try:
                async with self._db.transaction() as connection:
                    return await self._allocate(connection, workspace=workspace, app=app, run_id=run_id,
                                                requested=requested, port_range=port_range, unusable=unusable)
            except UniqueViolation:
                continue  # another writer stored this port or this app first: look again
        raise PortTaken(requested or 0, "another app (lost every race for a port)")

    async def _allocate(
        self, connection: Connection, *, workspace: str, app: str, run_id: str, requested: int | None,
        port_range: tuple[int, int], unusable: frozenset[int],
    ) -> PortMapping:
        now = to_text(self._db.clock.now())
        existing = await connection.fetch_one(
            f"SELECT * FROM ports WHERE workspace = ? AND app = ?{self._db.dialect.for_update}", (workspace, app))
        if existing is not None and requested in (None, existing["port"]):
            await connection.execute("UPDATE ports SET run_id = ?, updated_at = ? WHERE port = ?",
                                     (run_id, now, existing["port"]))
            return await _port(connection, existing["port"])
        if requested is not None:
            owner = await connection.fetch_one("SELECT * FROM ports WHERE port = ?", (requested,))
            if owner is not None:
                raise PortTaken(requested, f"{owner['workspace']}/{owner['app']}")
            port = requested
        else:
            taken = {row["port"] for row in await connection.fetch_all("SELECT port FROM ports")}
            low, high = port_range
            free = (p for p in range(low, high + 1) if p not in taken and p not in unusable)
            port = next(free, 0)
            if not port:
                raise PortRangeExhausted(f"no free external port in {low}-{high}")
        if existing is not None:  # the app asked to move to another port
            await connection.execute("DELETE FROM ports WHERE port = ?", (existing["port"],))
        await connection.execute(
            "INSERT INTO ports (port, workspace, app, run_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (port, workspace, app, run_id, now, now),
        )
        return await _port(connection, port)

    async def set_target(self, port: int, host: str, target_port: int) -> None:
        await self._db.execute(
            "UPDATE ports SET target_host = ?, target_port = ?, updated_at = ? WHERE port = ?",
            (host, target_port, to_text(self._db.clock.now()), port),
        )

    async def get(self, workspace: str, app: str) -> PortMapping | None:
        row = await self._db.fetch_one("SELECT * FROM ports WHERE workspace = ? AND app = ?", (workspace, app))
        return _mapping(row) if row else None

    async def all(self) -> list[PortMapping]:
        return [_mapping(row) for row in await self._db.fetch_all("SELECT * FROM ports ORDER BY port")]

    async def release(self, *, workspace: str, app: str | None = None) -> list[PortMapping]:
        """Frees the ports of one app, or of every app of the workspace; returns what was freed."""
        lock = self._db.dialect.for_update
        async with self._db.transaction() as connection:
            if app is None:
                rows = await connection.fetch_all(f"SELECT * FROM ports WHERE workspace = ?{lock}", (workspace,))
            else:
                rows = await connection.fetch_all(f"SELECT * FROM ports WHERE workspace = ? AND app = ?{lock}",
                                                  (workspace, app))
            if rows:
                await connection.execute_many("DELETE FROM ports WHERE port = ?", [(row["port"],) for row in rows])
            return [_mapping(row) for row in rows]


async def _port(connection: Connection, port: int) -> PortMapping:
    row = await connection.fetch_one("SELECT * FROM ports WHERE port = ?", (port,))
    assert row is not None  # written in this transaction
    return _mapping(row)
