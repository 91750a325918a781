"""GET /runs in pages: `next` leads through every matching run once, newest first, even when runs share a
creation time or new ones arrive between pages; a cursor that is not a run id is a 422 naming it, and one
that names no run a 404."""

from __future__ import annotations

from typing import Any

from tests.databases import both_backends
from tests.fakes.clock import FakeClock
from tests.integration.harness import Harness, spec

pytestmark = both_backends  # the same behaviour on the embedded and the shared store


async def every_page(harness: Harness, **filters: str) -> list[list[str]]:
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": "3", **filters}
    while True:
        response = await harness.http.get("/runs", params=params)
        assert response.status == 200, await response.text()
        listing = await response.json()
        pages.append([run["run_id"] for run in listing["runs"]])
        if listing.get("next") is None:
            return pages
        params["cursor"] = listing["next"]


async def test_pages_hold_every_run_once_even_when_runs_share_a_creation_time(harness: Harness) -> None:
    await harness.stop()
    harness.clock = clock = FakeClock()  # still: several runs are created at the same instant
    await harness.start()
    made = []
    for index in range(8):
        if index % 3 == 0:
            clock.advance(1)
        made.append((await harness.post_run(spec(app={"name": f"app{index}", "port": 8080})))["run_id"])

    pages = await every_page(harness)

    assert [len(page) for page in pages] == [3, 3, 2]
    listed = [run_id for page in pages for run_id in page]
    whole = await (await harness.http.get("/runs")).json()
    assert listed == [run["run_id"] for run in whole["runs"]]  # the same order as one long page
    assert sorted(listed) == sorted(made)


async def test_runs_created_between_pages_do_not_shift_the_later_pages(harness: Harness) -> None:
    made = [(await harness.post_run(spec(app={"name": f"app{index}", "port": 8080})))["run_id"]
            for index in range(5)]
    first = await (await harness.http.get("/runs", params={"limit": "2"})).json()
    await harness.post_run(spec(app={"name": "late", "port": 8080}))
    rest = await (await harness.http.get("/runs", params={"limit": "10", "cursor": first["next"]})).json()
    assert [run["run_id"] for run in first["runs"] + rest["runs"]] == made[::-1]
    assert "next" not in rest or rest["next"] is None


async def test_filters_page_within_their_own_runs(harness: Harness) -> None:
    for index in range(4):
        await harness.post_run(spec(workspace="alpha" if index % 2 else "beta",
                                    app={"name": f"app{index}", "port": 8080}))
    pages = await every_page(harness, workspace="alpha")
    assert [len(page) for page in pages] == [2]


async def test_a_cursor_that_is_no_run_is_refused_naming_it(harness: Harness) -> None:
    for cursor in ("not-a-run", "r-123", "R-0123456789ABCDEF"):
        response = await harness.http.get("/runs", params={"cursor": cursor})
        assert response.status == 422, cursor
        body = await response.json()
        assert [item["field"] for item in body["fields"]] == ["cursor"], body
    response = await harness.http.get("/runs", params={"cursor": "r-0123456789abcdef"})
    assert response.status == 404
    assert (await response.json())["message"].startswith("cursor: no run")
