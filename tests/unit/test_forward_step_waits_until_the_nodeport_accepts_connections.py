"""The forward step's reachability decision: the app's NodePort is tried from this host with a real TCP
connect; the step goes on at once when it answers, waits (saying what for) while it refuses, goes on once a
server starts listening there, and fails with AppNotReachable, naming the address and the last error, once
TEKTON_RUNNER_REACH_TIMEOUT has passed since the step started."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tekton_runner.chain.diagnosis import APP_NOT_REACHABLE
from tekton_runner.chain.runtime.outcomes import PermanentError
from tekton_runner.chain.steps.forward import WAITING_FOR_TARGET, reach
from tekton_runner.models.ids import RunId
from tekton_runner.models.runs import Run, RunState, Step, StepName, StepState
from tekton_runner.models.settings import Settings
from tekton_runner.models.spec import RunSpec
from tests.fakes.clock import FakeClock
from tests.unit.service_support import settings_for

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RUN = Run(id=RunId("r-0123456789abcdef"), state=RunState.DEPLOYING, created_at=START, updated_at=START,
          image="harbor.test/library/demo-shop:r-0123456789abcdef",
          spec=RunSpec.model_validate({"workspace": "demo", "app": {"name": "shop"},
                                       "source": {"type": "git", "url": "https://git.example.com/shop.git"}}))
STEP = Step(name=StepName.FORWARD, state=StepState.RUNNING, started_at=START, attempts=1)


@pytest.fixture
def node_port() -> Iterator[socket.socket]:
    """A port of this host that is bound but not listening: connections to it are refused until listen()."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def settings(tmp_path: Path, reach_timeout: float = 30.0) -> Settings:
    return settings_for(tmp_path, reach_timeout=reach_timeout, poll_interval=2.0)


async def test_a_nodeport_that_answers_at_once_lets_the_step_go_on(tmp_path: Path, node_port: socket.socket) -> None:
    node_port.listen()
    assert await reach(RUN, STEP, "127.0.0.1", port_of(node_port), settings=settings(tmp_path),
                       clock=FakeClock(START)) is None


async def test_the_step_waits_while_refused_and_goes_on_once_the_nodeport_listens(
        tmp_path: Path, node_port: socket.socket) -> None:
    clock, port = FakeClock(START), port_of(node_port)
    for _ in range(3):  # three tries refused, each a pass of the step some time apart
        outcome = await reach(RUN, STEP, "127.0.0.1", port, settings=settings(tmp_path), clock=clock)
        assert outcome is not None and outcome.waiting, outcome
        assert outcome.reason == WAITING_FOR_TARGET and outcome.timeout_reason == APP_NOT_REACHABLE
        assert outcome.message == f"waiting for 127.0.0.1:{port} to accept connections (last try: Connection refused)"
        assert outcome.delay == 0.5  # tried again sooner than the readiness poll: kube-proxy takes about a second
        clock.advance(5.0)

    node_port.listen()  # the NodePort is programmed now

    assert await reach(RUN, STEP, "127.0.0.1", port, settings=settings(tmp_path), clock=clock) is None


async def test_a_nodeport_that_never_answers_fails_the_step_naming_the_address_and_the_last_error(
        tmp_path: Path, node_port: socket.socket) -> None:
    clock, port = FakeClock(START), port_of(node_port)
    assert await reach(RUN, STEP, "127.0.0.1", port, settings=settings(tmp_path, 10.0), clock=clock) is not None
    clock.advance(10.0)

    with pytest.raises(PermanentError) as failed:
        await reach(RUN, STEP, "127.0.0.1", port, settings=settings(tmp_path, 10.0), clock=clock)

    assert failed.value.reason == APP_NOT_REACHABLE
    message = failed.value.message
    assert f"NodePort 127.0.0.1:{port} did not accept a TCP connection" in message, message
    assert "within 10s (TEKTON_RUNNER_REACH_TIMEOUT); last error: Connection refused" in message, message
    assert f"POST /runs/{RUN.id}/redeploy" in message and "troubleshooting.md#" in message, message


def test_the_setting_is_seconds_and_refuses_a_negative_bound(tmp_path: Path) -> None:
    assert Settings.model_fields["reach_timeout"].default == 30.0
    assert settings(tmp_path, 0.0).reach_timeout == 0.0
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        settings(tmp_path, -1.0)
