"""GET /runs/{id}/events against the real runner on the local plane: a run followed from its start shows
every transition once and in order, ending with its outcome; a client that comes after the end gets the
same history, and one that resumes after an id gets the rest."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.runner import Runner, run_spec
from tests.e2e.workspace import new_workspace
from tests.sse import Message, read_events, shape

pytestmark = pytest.mark.e2e
STEPS = ("build", "dependency", "migration", "app", "forward")


async def follow(runner: Runner, run_id: str, **headers: str) -> list[Message]:
    timeout = aiohttp.ClientTimeout(total=300, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session, \
            session.get(f"{runner.base_url}/runs/{run_id}/events", headers=headers) as response:
        return await read_events(response)


def without_repeats(states: list[str]) -> list[str]:
    return [state for index, state in enumerate(states) if index == 0 or states[index - 1] != state]


async def test_a_run_followed_from_its_start_shows_each_transition_once_and_late_clients_the_same(
        runner: Runner) -> None:
    run_id = await runner.post_run(run_spec(new_workspace()))
    live = await follow(runner, run_id)

    assert [m["id"] for m in live] == list(range(1, len(live) + 1))
    states = shape(live)
    assert states[0] == ("run", None, "pending") and states[-1] == ("run", None, "succeeded"), states
    assert without_repeats([s for event, _, s in states if event == "run"]) == [
        "pending", "building", "deploying", "succeeded"], states
    for step in STEPS:  # each step starts, then ends once, and in the chain's order
        ends = [index for index, (_, name, state) in enumerate(states)
                if name == step and state in ("succeeded", "failed", "skipped")]
        assert [states[index][2] for index in ends] == ["succeeded"], (step, states)
    last_ends = [max(i for i, (_, name, _s) in enumerate(states) if name == step) for step in STEPS]
    assert last_ends == sorted(last_ends), states
    told = [(m["event"], m["step"], m["state"], m["reason"], m["message"]) for m in live]
    assert all(told[index] != told[index - 1] for index in range(1, len(told))), told  # nothing twice

    run = await runner.get_run(run_id)
    assert {s["name"]: s["state"] for s in run["steps"]} == dict.fromkeys(STEPS, "succeeded")
    assert await follow(runner, run_id) == live  # a late client: the whole history, then the end
    assert await follow(runner, run_id, **{"Last-Event-ID": str(live[2]["id"])}) == live[3:]
