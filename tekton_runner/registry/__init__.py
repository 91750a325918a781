"""Reads image digests from an OCI registry (Harbor, or any registry speaking the distribution API)."""

from .digests import RegistryClient, RegistryError, parse_reference

__all__ = ["RegistryClient", "RegistryError", "parse_reference"]
