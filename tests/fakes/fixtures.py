"""Pytest fixtures for the fake Kubernetes API (load them from tests/conftest.py with pytest_plugins)."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.rest import ApiException

from tests.fakes.kube_api import FakeKubeApi


def status_body(error: ApiException) -> dict[str, Any]:
    """The Status object of a failed call (kind, reason, code, message, details)."""
    body: dict[str, Any] = json.loads(error.body or b"{}")
    return body


def _read_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@asynccontextmanager
async def real_api_client(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """A real ApiClient configured from `kubeconfig` only, never from the process-wide default configuration.

    The file is read in a thread: `config.load_kube_config(config_file=...)` works too, but reads the file
    inside the event loop, which blockbuster reports as a blocking call.
    """
    configuration = client.Configuration()
    config_dict = await asyncio.to_thread(_read_yaml, kubeconfig)
    await config.load_kube_config_from_dict(config_dict, client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest_asyncio.fixture
async def fake_kube(tmp_path: Path) -> AsyncIterator[FakeKubeApi]:
    """A started FakeKubeApi with a kubeconfig pointing at it (`fake_kube.kubeconfig`); stopped afterwards."""
    async with FakeKubeApi() as fake:
        await asyncio.to_thread(fake.write_kubeconfig, tmp_path / "kubeconfig")  # file I/O off the loop
        yield fake
    if fake.crashes:
        pytest.fail(f"the fake Kubernetes API crashed while serving: {fake.crashes!r}")


@pytest.fixture
def fake_kubeconfig(fake_kube: FakeKubeApi) -> Path:
    """The path of a kubeconfig for `fake_kube`, for code that takes KUBECONFIG."""
    return fake_kube.kubeconfig


@pytest_asyncio.fixture
async def fake_kube_client(fake_kube: FakeKubeApi) -> AsyncIterator[client.ApiClient]:
    """A real kubernetes_asyncio ApiClient loaded from the fake's kubeconfig."""
    async with real_api_client(fake_kube.kubeconfig) as api_client:
        yield api_client
