"""Shared pytest wiring: the fake Kubernetes API fixtures and the runner harness."""

pytest_plugins = ["tests.fakes.fixtures", "tests.databases", "tests.integration.harness", "tests.integration.browser"]


import pytest  # noqa: E402
from blockbuster import blockbuster_ctx  # noqa: E402


@pytest.fixture(autouse=True)
def no_blocking_calls(request: pytest.FixtureRequest) -> object:
    """Fails a test when the product blocks the event loop (file or socket I/O without a thread)."""
    if request.node.get_closest_marker("allow_blocking"):
        yield None
        return
    with blockbuster_ctx(["tekton_runner"]) as blockbuster:
        yield blockbuster
