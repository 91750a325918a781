"""TCP port forwarding for external access: the relay table, its metrics, probes and the forward verb."""

from .command import main, parse_address, raise_fd_limit
from .errors import (
    ForwardError,
    IdleTimeout,
    ListenFailed,
    MappingExists,
    MappingNotFound,
    PortUnavailable,
)
from .kernel import DnatRule, KernelCounts, KernelPathError, NftDnat
from .metrics import ForwardCollector, register_metrics
from .relaying import EngineName, RelayOptions, connect_error, probe
from .stats import Address, MappingId, MappingState, MappingStats, PathName
from .table import ForwardTable

__all__ = [
    "Address",
    "DnatRule",
    "EngineName",
    "ForwardCollector",
    "ForwardError",
    "ForwardTable",
    "IdleTimeout",
    "KernelCounts",
    "KernelPathError",
    "ListenFailed",
    "MappingExists",
    "MappingId",
    "MappingNotFound",
    "MappingState",
    "MappingStats",
    "NftDnat",
    "PathName",
    "PortUnavailable",
    "RelayOptions",
    "connect_error",
    "main",
    "parse_address",
    "probe",
    "raise_fd_limit",
    "register_metrics",
]
