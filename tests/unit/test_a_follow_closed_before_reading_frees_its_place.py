"""A follower that leaves before anything was sent (a client gone before the first byte) frees its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tekton_runner.chain.status.hub import ProgressHub
from tekton_runner.models.ids import RunId
from tekton_runner.models.spec import RunSpec
from tekton_runner.service.errors import TooManyFollowers
from tekton_runner.service.progress import Progresses
from tekton_runner.store.run_writes import RunWrites
from tekton_runner.store.runs import RunStore
from tekton_runner.store.sqlite import SqliteDatabase

SPEC = RunSpec.model_validate({
    "workspace": "demo", "app": {"name": "shop", "port": 8080},
    "source": {"type": "git", "url": "https://git.example.com/team/shop.git", "revision": "main"},
})


async def test_a_follow_closed_unread_frees_its_place(tmp_path: Path) -> None:
    async with SqliteDatabase.open(tmp_path / "state.sqlite3") as database:
        await RunWrites(database).create(RunId("r-0123456789abcdef"), SPEC, "harbor.test/demo-shop:r-1")
        progresses = Progresses(RunStore(database), ProgressHub(), max_followers=1, keepalive=15.0, longest=60.0)
        first = await progresses.follow("r-0123456789abcdef")
        with pytest.raises(TooManyFollowers):
            await progresses.follow("r-0123456789abcdef")
        await first.aclose()  # never iterated
        await first.aclose()  # closing twice frees nothing twice
        assert progresses.following == 0
        second = await progresses.follow("r-0123456789abcdef")
        await second.aclose()
