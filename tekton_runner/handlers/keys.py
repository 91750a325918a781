"""Typed application state shared by the handlers, filled in by the app factory."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..chain.context import ChainContext
from ..chain.orchestrator import Orchestrator
from ..models.settings import Settings
from .follows import FollowSlots
from .probing import ForwardView

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", CollectorRegistry)
CONTEXT = web.AppKey("context", ChainContext)
ORCHESTRATOR = web.AppKey("orchestrator", Orchestrator)
FORWARD_VIEW = web.AppKey("forward_view", ForwardView)
LOG_FOLLOWS = web.AppKey("log_follows", FollowSlots)
