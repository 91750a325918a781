"""A coordination.k8s.io/v1 Lease read and written with optimistic concurrency; used by election.py.

Every write carries the resourceVersion it was read at, so of two replicas writing the same Lease one gets
Conflict and neither overwrites the other's claim (the API server is the only arbiter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .client import Kube, KubeObject
from .errors import NotFound

API_VERSION = "coordination.k8s.io/v1"


@dataclass(frozen=True)
class LeaseTerms:
    """Which Lease, who asks for it, and the timing of the election (client-go's names)."""

    name: str
    namespace: str
    identity: str
    duration: float  # a holder that stops renewing loses the Lease this long after others last saw it renewed
    renew_deadline: float  # a holder that cannot renew for this long stops leading (shorter than duration)
    retry_period: float  # how often a holder renews and a candidate tries (settings check the order)


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec as stored, and the resourceVersion it was read at."""

    holder: str
    duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int
    resource_version: str


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _micro(value: datetime) -> str:
    """MicroTime as the API server accepts it: RFC 3339 with microseconds, in UTC."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(obj: KubeObject) -> LeaseRecord:
    spec = obj.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=_time(spec.get("acquireTime")),
        renew_time=_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str(obj["metadata"].get("resourceVersion") or ""),
    )


class Leases:
    """Reads and compare-and-set writes of one Lease."""

    def __init__(self, kube: Kube, *, name: str, namespace: str) -> None:
        self._kube = kube
        self._name = name
        self._namespace = namespace

    async def read(self) -> LeaseRecord | None:
        """The stored Lease, None when there is none; KubeError when the API server cannot say."""
        try:
            return _record(await self._kube.get(API_VERSION, "Lease", self._name, self._namespace))
        except NotFound:
            return None

    async def write(self, *, holder: str, duration_seconds: int, acquire_time: datetime, renew_time: datetime,
                    transitions: int, read_at: LeaseRecord | None) -> LeaseRecord:
        """Creates the Lease (read_at None) or replaces the version read; Conflict when someone wrote first."""
        metadata: dict[str, Any] = {"name": self._name, "namespace": self._namespace}
        if read_at is not None:
            metadata["resourceVersion"] = read_at.resource_version
        obj: KubeObject = {
            "apiVersion": API_VERSION, "kind": "Lease", "metadata": metadata,
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration_seconds,
                     "acquireTime": _micro(acquire_time), "renewTime": _micro(renew_time),
                     "leaseTransitions": transitions},
        }
        written = await (self._kube.create(obj) if read_at is None else self._kube.replace(obj))
        return _record(written)
