"""What the chain's steps depend on, passed in explicitly; built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..kube import Kube
from ..manifests import Renderer
from ..models.clock import SYSTEM_CLOCK, Clock
from ..models.settings import Settings
from ..registry import RegistryClient
from ..store.apps import AppStore
from ..store.events import EventStore
from ..store.ports import PortStore
from ..store.runs import RunStore
from ..store.uploads import UploadStore
from .runtime.retry import RetryPolicy
from .status.metrics import Metrics
from .status.writer import StatusWriter
from .workspace_access import WorkspaceAccess


class PortForwarder(Protocol):
    """The data plane behind external ports (the runner's relay, or nothing when disabled)."""

    async def publish(self, port: int, target_host: str, target_port: int) -> None: ...

    async def withdraw(self, port: int) -> None: ...


class NoForwarder:
    """Records mappings only; used when another component carries the traffic."""

    async def publish(self, port: int, target_host: str, target_port: int) -> None:
        return None

    async def withdraw(self, port: int) -> None:
        return None


@dataclass(frozen=True)
class ChainContext:
    settings: Settings
    kube: Kube
    renderer: Renderer
    runs: RunStore
    ports: PortStore
    apps: AppStore
    events: EventStore
    uploads: UploadStore
    metrics: Metrics
    status: StatusWriter
    forwarder: PortForwarder
    access: WorkspaceAccess
    registry: RegistryClient | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = SYSTEM_CLOCK
