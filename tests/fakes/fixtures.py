"""Pytest fixtures for the fake Kubernetes API (load them from tests/conftest.py with pytest_plugins)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes_asyncio import client, config

from tests.fakes.kube_api import FakeKubeApi


@asynccontextmanager
async def real_api_client(kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """A real ApiClient configured from `kubeconfig` only, never from the process-wide default configuration.

    This is the loading path the product's kube layer takes, so tests through it prove the fake
    understands what kubernetes_asyncio sends.
    """
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest_asyncio.fixture
async def fake_kube(tmp_path: Path) -> AsyncIterator[FakeKubeApi]:
    """A started FakeKubeApi with a kubeconfig pointing at it (`fake_kube.kubeconfig`); stopped afterwards."""
    async with FakeKubeApi() as fake:
        fake.write_kubeconfig(tmp_path / "kubeconfig")
        yield fake


@pytest.fixture
def fake_kubeconfig(fake_kube: FakeKubeApi) -> Path:
    """The path of a kubeconfig for `fake_kube`, for code that takes KUBECONFIG."""
    return fake_kube.kubeconfig


@pytest_asyncio.fixture
async def fake_kube_client(fake_kube: FakeKubeApi) -> AsyncIterator[client.ApiClient]:
    """A real kubernetes_asyncio ApiClient loaded from the fake's kubeconfig."""
    async with real_api_client(fake_kube.kubeconfig) as api_client:
        yield api_client
