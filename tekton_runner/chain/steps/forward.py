"""Step `forward`: find the app's NodePort, keep its external port, and publish the mapping."""

from __future__ import annotations

from typing import Any

from ...forwarding import ForwardError, PortUnavailable
from ...kube import Kube
from ...models.runs import Endpoint, Run, Step
from ...store.ports import PortMapping, PortRangeExhausted, PortTaken
from .. import naming
from ..context import ChainContext
from ..runtime.outcomes import PermanentError, StepOutcome, TemporaryError


def node_port(service: dict[str, Any]) -> int | None:
    for port in (service.get("spec") or {}).get("ports") or []:
        if port.get("nodePort"):
            return int(port["nodePort"])
    return None


async def node_address(kube: Kube, override: str | None) -> str:
    """Where NodePorts answer: the configured address, else the first node's InternalIP, else loopback."""
    if override:
        return override
    for node in await kube.list("v1", "Node"):
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP" and address.get("address"):
                return str(address["address"])
    return "127.0.0.1"


async def expose(ctx: ChainContext, run: Run, step: Step) -> StepOutcome:
    namespace = naming.namespace(run)
    target = await ctx.access.target(run.workspace)
    kube = await ctx.access.kube(run.workspace)
    service = await kube.get("v1", "Service", run.app, namespace)
    port = node_port(service)
    if port is None:
        raise TemporaryError(f"Service {namespace}/{run.app} has no nodePort yet", reason="NoNodePort")
    host = await node_address(kube, ctx.settings.node_address or target.node_address)
    mapping = await _publish(ctx, run, host, port)
    endpoint = Endpoint(
        namespace=namespace, service=run.app, node_port=port, host_local=f"{host}:{port}",
        external_port=mapping.port, external=f"{ctx.settings.public_host}:{mapping.port}",
    )
    await ctx.status.endpoint_set(run.id, endpoint)
    return StepOutcome.done("Mapped", f"{endpoint.external} -> {endpoint.host_local}")


async def _publish(ctx: ChainContext, run: Run, host: str, node_port: int) -> PortMapping:
    """Allocates the app's external port and relays it; a free port from the range that another process
    holds is skipped (a requested one is not: the user asked for that port, so the step fails)."""
    requested = run.spec.expose.external_port
    unusable: set[int] = set()
    while True:
        try:
            mapping = await ctx.ports.allocate(
                workspace=run.workspace, app=run.app, run_id=run.id, requested=requested,
                port_range=ctx.settings.external_port_range, unusable=frozenset(unusable),
            )
        except PortTaken as error:
            raise PermanentError(str(error), reason="PortTaken") from error
        except PortRangeExhausted as error:
            raise PermanentError(str(error), reason="PortRangeExhausted") from error
        await ctx.ports.set_target(mapping.port, host, node_port)
        try:
            await ctx.forwarder.publish(mapping.port, host, node_port)
            return mapping
        except PortUnavailable as error:
            await ctx.ports.release(workspace=run.workspace, app=run.app)
            if requested is not None:
                raise PermanentError(f"external port {mapping.port} is held by another process on this host",
                                     reason="PortTaken") from error
            unusable.add(mapping.port)
        except ForwardError as error:
            raise TemporaryError(f"external port {mapping.port} could not be opened: {error}",
                                 reason="ForwardFailed") from error
