"""The only layer that talks to Kubernetes (through kubernetes_asyncio)."""

from .client import FIELD_MANAGER, Kube, KubeObject
from .errors import Conflict, Forbidden, Invalid, KubeError, NotFound, Unavailable

__all__ = [
    "FIELD_MANAGER", "Conflict", "Forbidden", "Invalid", "Kube", "KubeError", "KubeObject", "NotFound",
    "Unavailable",
]
