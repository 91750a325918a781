"""Fakes for the integration tier; FakeKubeApi is an HTTP-level Kubernetes API server (see kube_api.py)."""

from tests.fakes.faults import Fault, Hold, RecordedRequest
from tests.fakes.kube_api import FakeKubeApi
from tests.fakes.resources import ResourceType
from tests.fakes.store import ApiError

__all__ = ["ApiError", "FakeKubeApi", "Fault", "Hold", "RecordedRequest", "ResourceType"]
