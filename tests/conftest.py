"""Shared pytest wiring: the fake Kubernetes API fixtures and the runner harness."""

pytest_plugins = ["tests.fakes.fixtures", "tests.integration.harness"]
