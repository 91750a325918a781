"""The only layer that talks to Kubernetes (through kubernetes_asyncio)."""

from .client import FIELD_MANAGER, Kube, KubeObject
from .election import LeaderElector
from .errors import Conflict, Forbidden, Invalid, KubeError, NotFound, Unavailable
from .leases import Leases, LeaseTerms

__all__ = [
    "FIELD_MANAGER", "Conflict", "Forbidden", "Invalid", "Kube", "KubeError", "KubeObject", "LeaderElector",
    "LeaseTerms", "Leases", "NotFound", "Unavailable",
]
