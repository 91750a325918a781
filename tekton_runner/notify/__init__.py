"""Outgoing notifications: CloudEvents to a configured receiver and GitHub commit statuses (adapters)."""

from .delivery import DeliveryError

__all__ = ["DeliveryError"]
