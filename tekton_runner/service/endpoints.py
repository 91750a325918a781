"""Where users reach their apps (GET /endpoint) and every external port (GET /external-map)."""

from __future__ import annotations

import asyncio

from ..models.api import Address, EndpointView, ExternalAddress, ExternalMap, ExternalMapping
from ..models.settings import Settings
from ..store.ports import PortStore
from ..store.runs import RunStore
from .errors import NoEndpoint
from .probing import ForwardView, reachable, split_address


class Endpoints:
    def __init__(self, settings: Settings, runs: RunStore, ports: PortStore, forward_view: ForwardView) -> None:
        self._settings = settings
        self._runs = runs
        self._ports = ports
        self._view = forward_view

    async def endpoint(self, workspace: str, app: str) -> EndpointView:
        """The app's host-local and external addresses, each tried with a TCP connect; NoEndpoint without both."""
        run = await self._runs.latest_succeeded(workspace, app)
        mapping = await self._ports.get(workspace, app)
        if (run is None or run.endpoint is None) and mapping is None:
            raise NoEndpoint(workspace, app)
        host_local = run.endpoint.host_local if run and run.endpoint else None
        if host_local is None and mapping and mapping.target_host and mapping.target_port:
            host_local = f"{mapping.target_host}:{mapping.target_port}"
        external = f"{self._settings.public_host}:{mapping.port}" if mapping else None
        checks = await asyncio.gather(
            _check(host_local), _check(self._view.check_address(mapping.port) if mapping else None)
        )
        return EndpointView(
            workspace=workspace, app=app, run_id=run.id if run else (mapping.run_id if mapping else None),
            host_local=Address(address=host_local, reachable=checks[0]),
            external=ExternalAddress(address=external, port=mapping.port if mapping else None, reachable=checks[1]),
        )

    async def external_map(self) -> ExternalMap:
        """Every external port with its target and, when this process relays it, its traffic."""
        public_host = self._settings.public_host
        await self._view.refresh()  # the kernel path's counters are read from nft, not kept in this process
        entries = []
        for mapping in await self._ports.all():
            target = f"{mapping.target_host}:{mapping.target_port}" if mapping.target_host else None
            entries.append(ExternalMapping(
                workspace=mapping.workspace, app=mapping.app, run_id=mapping.run_id, external_port=mapping.port,
                external=f"{public_host}:{mapping.port}", target=target, updated_at=mapping.updated_at,
                **self._view.describe(mapping.port),
            ))
        return ExternalMap(host=public_host, mappings=entries)


    async def refresh_counters(self) -> None:
        """Reads the traffic counters the kernel keeps (DNAT mappings) into the metrics, before a scrape."""
        await self._view.refresh()


async def _check(address: str | None) -> bool | None:
    if address is None:
        return None
    host, port = split_address(address)
    return await reachable(host, port)
