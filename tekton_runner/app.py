"""The aiohttp application factory: routes, middleware and every shared client's lifetime."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from .chain.context import ChainContext, NoForwarder, PortForwarder
from .chain.orchestrator import Orchestrator
from .chain.runtime.retry import RetryPolicy
from .chain.runtime.scheduler import Scheduler
from .chain.status.metrics import Metrics
from .chain.status.writer import Recorder
from .chain.workspace_access import WorkspaceAccess
from .forwarding import ForwardError
from .forwarding.plane import forward_plane
from .handlers import apps, endpoints, events, health, logs, runs, sources, workspaces
from .handlers.follows import FollowSlots
from .handlers.keys import CONTEXT, FORWARD_VIEW, LOG_FOLLOWS, ORCHESTRATOR, REGISTRY, SETTINGS
from .handlers.probing import ForwardView, NoTraffic
from .handlers.problems import middleware
from .kube import Kube
from .manifests import Renderer
from .models.clock import SYSTEM_CLOCK, Clock
from .models.settings import Settings, WorkspaceSettings, reveal, weakened_security
from .registry import RegistryClient
from .store.apps import AppStore
from .store.database import Database
from .store.ports import PortStore
from .store.runs import RunStore
from .store.uploads import UploadStore
from .workspaces import provisioner_for

log = logging.getLogger("tekton_runner")



@asynccontextmanager
async def _data_plane(
    settings: Settings, registry: CollectorRegistry, ports: PortStore
) -> AsyncIterator[tuple[PortForwarder, ForwardView]]:
    """The relay for external ports, with every stored mapping re-opened; nothing when forwarding is off."""
    if not settings.forward:
        yield NoForwarder(), NoTraffic()
        return
    async with forward_plane(settings.forward_listen_host, registry=registry) as plane:
        for mapping in await ports.all():
            if mapping.target_host and mapping.target_port:
                try:
                    await plane.publish(mapping.port, mapping.target_host, mapping.target_port)
                except ForwardError as error:
                    log.error("external port %d of %s not re-opened: %s", mapping.port, mapping.owner, error)
        yield plane, plane


def _registry_tls(workspaces: WorkspaceSettings) -> ssl.SSLContext | None:
    """System CAs plus the registry's own CA bundle, when one is configured (a file read: run in a thread)."""
    if workspaces.registry_ca_file is None:
        return None
    return ssl.create_default_context(cafile=str(workspaces.registry_ca_file))


def create_app(
    settings: Settings, *, registry: CollectorRegistry | None = None, retry: RetryPolicy | None = None,
    resync: bool = True, clock: Clock = SYSTEM_CLOCK,
) -> web.Application:
    """A fresh application; nothing is opened until it starts (see `_lifetime`)."""
    app = web.Application(
        middlewares=[middleware(reveal(settings.token))], client_max_size=settings.max_upload_bytes + 1024
    )
    app[SETTINGS] = settings
    app[REGISTRY] = registry or CollectorRegistry()
    app[LOG_FOLLOWS] = FollowSlots(settings.logs_max_follows)
    for table in (runs.routes, logs.routes, sources.routes, events.routes, endpoints.routes, health.routes,
                  workspaces.routes, apps.routes):
        app.add_routes(table)

    async def _lifetime(app: web.Application) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(Database.open(settings.database_path, clock=clock))
            kube = await stack.enter_async_context(Kube.connect(settings.kubeconfig))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            metrics = Metrics.create(app[REGISTRY])
            run_store = RunStore(database)
            port_store = PortStore(database)
            forwarder, view = await stack.enter_async_context(_data_plane(settings, app[REGISTRY], port_store))
            renderer = await asyncio.to_thread(Renderer)
            registry_access = settings.workspaces
            registry_tls = await asyncio.to_thread(_registry_tls, registry_access)
            access = WorkspaceAccess(provisioner_for(registry_access, kube=kube, renderer=renderer,
                                                     node_address=settings.node_address), kube)
            stack.push_async_callback(access.close)
            ctx = ChainContext(
                settings=settings, kube=kube, renderer=renderer, runs=run_store,
                access=access,
                ports=port_store, apps=AppStore(database), uploads=UploadStore(database), metrics=metrics,
                recorder=Recorder(run_store, metrics, clock), forwarder=forwarder, retry=retry or RetryPolicy(),
                clock=clock,
                registry=RegistryClient(session, host=settings.registry_host, scheme=registry_access.registry_scheme,
                                        verify_tls=not registry_access.registry_insecure,
                                        username=registry_access.registry_username,
                                        password=reveal(registry_access.registry_password),
                                        token_realms=settings.registry_token_realms, ssl_context=registry_tls),
            )
            scheduler = Scheduler(limit=settings.chain_concurrency)
            stack.push_async_callback(scheduler.close, grace=settings.shutdown_grace)
            orchestrator = Orchestrator(ctx, scheduler, session)
            app[CONTEXT], app[ORCHESTRATOR], app[FORWARD_VIEW] = ctx, orchestrator, view
            if resync:
                scheduler.spawn("resync", lambda: orchestrator.resync_forever(settings.resync_seconds),
                                limited=False, daemon=True)
            for warning in weakened_security(settings):
                log.warning("security: %s", warning)
            log.info("tekton-runner ready: EventListener %s, builds in %s, state in %s",
                     settings.eventlistener_url, settings.build_namespace, settings.database_path)
            yield

    app.cleanup_ctx.append(_lifetime)
    return app
