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
from .chain.handover import Handover
from .chain.orchestrator import Orchestrator
from .chain.runtime.leadership import Leadership
from .chain.runtime.retry import RetryPolicy
from .chain.runtime.scheduler import Scheduler
from .chain.status.metrics import Metrics
from .chain.status.notifying import CloudEventTarget, GitHubStatusTarget, Notifier, Target
from .chain.status.relaying import Relay
from .chain.status.writer import StatusWriter
from .chain.workspace_access import WorkspaceAccess
from .forwarding.plane import ForwardPlane, forward_plane
from .forwarding.switch import PlaneSwitch
from .handlers import apps, endpoints, events, health, logs, progress, runs, sources, ui, workspaces
from .handlers.keys import (
    APPS,
    ENDPOINTS,
    EVENTS,
    HEALTH,
    LOGS,
    PROGRESS,
    REGISTRY,
    RUNS,
    SETTINGS,
    SOURCES,
    WORKSPACES,
)
from .handlers.middleware import middleware
from .kube import Kube, LeaderElector, Leases, LeaseTerms
from .manifests import Renderer
from .models.clock import SYSTEM_CLOCK, Clock
from .models.settings import Settings, WorkspaceSettings, reveal, weakened_security
from .registry import RegistryClient
from .service.apps import Apps
from .service.endpoints import Endpoints
from .service.events import Events
from .service.health import HealthChecks
from .service.logs import Logs
from .service.probing import ForwardView, NoTraffic
from .service.progress import Progresses
from .service.runs import Runs
from .service.sources import Sources
from .service.workspaces import Workspaces
from .store.apps import AppStore
from .store.database import Database
from .store.events import EventStore
from .store.opening import open_database
from .store.ports import PortStore
from .store.progress_feed import ProgressFeed
from .store.runs import RunStore
from .store.uploads import UploadStore
from .workspaces import provisioner_for

log = logging.getLogger("tekton_runner")
# The domain objects behind the services, for code that drives the runner from outside HTTP (tests, tools).
CONTEXT = web.AppKey("context", ChainContext)
ORCHESTRATOR = web.AppKey("orchestrator", Orchestrator)


@asynccontextmanager
async def _opened_plane(
    settings: Settings, registry: CollectorRegistry, ports: PortStore
) -> AsyncIterator[ForwardPlane]:
    """External ports with every stored mapping re-opened (rules and listeners)."""
    async with forward_plane(settings.forward_listen_host, registry=registry, engine=settings.forward_engine,
                             nft_table=settings.nft_table) as plane:
        await plane.restore((mapping.port, mapping.target_host, mapping.target_port)
                            for mapping in await ports.all() if mapping.target_host and mapping.target_port)
        yield plane


@asynccontextmanager
async def _data_plane(
    settings: Settings, registry: CollectorRegistry, ports: PortStore, leadership: Leadership, clock: Clock,
) -> AsyncIterator[tuple[PortForwarder, ForwardView]]:
    """The external ports: opened now for one replica, for each leader term with election; nothing when off."""
    if not settings.forward:
        yield NoForwarder(), NoTraffic()
    elif not settings.leader_election:
        async with _opened_plane(settings, registry, ports) as plane:
            yield plane, plane
    else:
        switch = PlaneSwitch()

        async def relay_while_leading() -> None:
            async with _opened_plane(settings, registry, ports) as plane, switch.attached(plane):
                while True:  # ports released by another replica (a delete it answered) close here too
                    await clock.sleep(settings.handover_seconds)
                    await switch.keep_only(mapping.port for mapping in await ports.all())

        leadership.add("forward", relay_while_leading)
        yield switch, switch


def _elector(settings: Settings, kube: Kube, leadership: Leadership, clock: Clock) -> LeaderElector:
    terms = LeaseTerms(name=settings.lease_name, namespace=settings.lease_namespace, identity=settings.identity,
                       duration=settings.lease_duration, renew_deadline=settings.lease_renew_deadline,
                       retry_period=settings.lease_retry_period)
    return LeaderElector(Leases(kube, name=terms.name, namespace=terms.namespace), terms, clock=clock,
                         on_change=leadership.changed)


def _registry_tls(workspaces: WorkspaceSettings) -> ssl.SSLContext | None:
    """System CAs plus the registry's own CA bundle, when one is configured (a file read: run in a thread)."""
    if workspaces.registry_ca_file is None:
        return None
    return ssl.create_default_context(cafile=str(workspaces.registry_ca_file))


def _serve(app: web.Application, ctx: ChainContext, orchestrator: Orchestrator, view: ForwardView) -> None:
    """The services the handlers call, each given only the parts of the domain it needs."""
    settings = ctx.settings
    sources = Sources(settings, ctx.uploads)
    app[SOURCES] = sources
    app[RUNS] = Runs(settings, ctx.runs, ctx.ports, sources, view, orchestrator, ctx.status)
    app[APPS] = Apps(ctx, view)
    app[ENDPOINTS] = Endpoints(settings, ctx.runs, ctx.ports, view)
    app[WORKSPACES] = Workspaces(ctx.runs, ctx.ports, ctx.access, orchestrator)
    app[EVENTS] = Events(ctx.runs, ctx.events, ctx.apps, ctx.metrics, orchestrator,
                         keep_per_subject=settings.events_per_subject)
    app[HEALTH] = HealthChecks(ctx.runs, ctx.kube, orchestrator.leadership)
    app[PROGRESS] = Progresses(ctx.runs, ctx.status.hub, max_followers=settings.max_followers,
                               keepalive=settings.keepalive_seconds, longest=settings.follow_seconds)
    app[LOGS] = Logs(ctx)


def _notification_targets(settings: Settings, session: aiohttp.ClientSession) -> list[Target]:
    """The configured receivers of outgoing notifications; none by default."""
    targets: list[Target] = []
    if settings.notify_url:
        targets.append(CloudEventTarget(session, settings.notify_url, source=settings.base_url))
    token = reveal(settings.github_token)
    if token:
        targets.append(GitHubStatusTarget(session, settings.github_api, token))
    return targets


async def _add_notifiers(ctx: ChainContext, leadership: Leadership, session: aiohttp.ClientSession,
                         database: Database) -> None:
    """One delivery loop per configured target, run by the leader (cancelled at once on stop or loss: its
    position is stored after each transition)."""
    settings = ctx.settings
    retry = RetryPolicy(attempts=settings.notify_attempts, base_delay=settings.notify_retry_delay,
                        max_delay=settings.notify_retry_max_delay)
    for target in _notification_targets(settings, session):
        notifier = Notifier(target, feed=ProgressFeed(database), runs=ctx.runs, hub=ctx.status.hub,
                            clock=ctx.clock, retry=retry, metrics=ctx.metrics)
        await notifier.prepare()
        leadership.add(f"notify:{target.name}", notifier.deliver_forever)


async def _end_streams(app: web.Application) -> None:
    """Shutdown begins: clients following runs get the end of their streams instead of a cut connection."""
    if PROGRESS in app:
        app[PROGRESS].close()


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
    for table in (runs.routes, progress.routes, logs.routes, sources.routes, events.routes, endpoints.routes,
                  health.routes, workspaces.routes, apps.routes, ui.routes):
        app.add_routes(table)
    app.on_startup.append(ui.load_files)

    async def _lifetime(app: web.Application) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(
                url=reveal(settings.database_url), path=settings.database_path, clock=clock,
                pool_size=settings.database_pool_size))
            # A follow of an app's log reads its pods at once: two streams per follow leave room for that.
            kube = await stack.enter_async_context(
                Kube.connect(settings.kubeconfig, streams=2 * settings.logs_max_follows))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            metrics = Metrics.create(app[REGISTRY])
            run_store = RunStore(database)
            port_store = PortStore(database)
            scheduler = Scheduler(limit=settings.chain_concurrency)
            leadership = Leadership(scheduler, elected=settings.leader_election, registry=app[REGISTRY])
            forwarder, view = await stack.enter_async_context(
                _data_plane(settings, app[REGISTRY], port_store, leadership, clock))
            renderer = await asyncio.to_thread(Renderer)
            registry_access = settings.workspaces
            registry_tls = await asyncio.to_thread(_registry_tls, registry_access)
            access = WorkspaceAccess(provisioner_for(registry_access, kube=kube, renderer=renderer,
                                                     node_address=settings.node_address), kube)
            stack.push_async_callback(access.close)
            stack.push_async_callback(scheduler.close, grace=settings.shutdown_grace)  # first to stop
            ctx = ChainContext(
                settings=settings, kube=kube, renderer=renderer, runs=run_store,
                access=access,
                ports=port_store, apps=AppStore(database), events=EventStore(database), uploads=UploadStore(database),
                metrics=metrics,
                status=StatusWriter(database, metrics, clock), forwarder=forwarder, retry=retry or RetryPolicy(),
                clock=clock,
                registry=RegistryClient(session, host=settings.registry_host, scheme=registry_access.registry_scheme,
                                        verify_tls=not registry_access.registry_insecure,
                                        username=registry_access.registry_username,
                                        password=reveal(registry_access.registry_password),
                                        token_realms=settings.registry_token_realms, ssl_context=registry_tls),
            )
            orchestrator = Orchestrator(ctx, scheduler, session, leadership)
            leadership.on_loss(orchestrator.stand_down)
            app[CONTEXT], app[ORCHESTRATOR] = ctx, orchestrator
            _serve(app, ctx, orchestrator, view)
            await _add_notifiers(ctx, leadership, session, database)
            leadership.add("dispatch", orchestrator.dispatcher.send_forever)
            if resync:
                leadership.add("resync", lambda: orchestrator.resync_forever(settings.resync_seconds))
            if settings.leader_election:
                # every replica: its clients follow runs whose transitions the leader writes
                relay = Relay(ProgressFeed(database), ctx.status.hub, interval=settings.handover_seconds,
                              notifies=settings.database_url is not None, registry=app[REGISTRY])
                scheduler.spawn("relay", relay.serve_forever, limited=False, daemon=True)
                handover = Handover(orchestrator, ProgressFeed(database))
                leadership.add("handover", lambda: handover.serve_forever(settings.handover_seconds))
                scheduler.spawn("lease", _elector(settings, kube, leadership, clock).run, limited=False, daemon=True)
            else:
                await leadership.changed(True)
            for warning in weakened_security(settings):
                log.warning("security: %s", warning)
            log.info("tekton-runner ready (%s): EventListener %s, builds in %s, state in %s", leadership.role,
                     settings.eventlistener_url, settings.build_namespace, settings.state_location)
            yield

    app.cleanup_ctx.append(_lifetime)
    app.on_shutdown.append(_end_streams)
    return app
