"""Typed application state shared by the handlers: the settings, the metrics registry and the services.

Filled in by the app factory; handlers reach the domain only through these services."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..models.settings import Settings
from ..service.apps import Apps
from ..service.endpoints import Endpoints
from ..service.events import Events
from ..service.health import HealthChecks
from ..service.logs import Logs
from ..service.progress import Progresses
from ..service.runs import Runs
from ..service.sources import Sources
from ..service.workspaces import Workspaces

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", CollectorRegistry)
RUNS = web.AppKey("runs", Runs)
SOURCES = web.AppKey("sources", Sources)
APPS = web.AppKey("apps", Apps)
ENDPOINTS = web.AppKey("endpoints", Endpoints)
WORKSPACES = web.AppKey("workspaces", Workspaces)
EVENTS = web.AppKey("events", Events)
HEALTH = web.AppKey("health", HealthChecks)
PROGRESS = web.AppKey("progress", Progresses)
LOGS = web.AppKey("logs", Logs)
