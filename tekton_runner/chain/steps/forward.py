"""Step `forward`: find the app's NodePort, keep its external port, publish the mapping, and wait (within
TEKTON_RUNNER_REACH_TIMEOUT) until the NodePort accepts a connection from this host, so that a user who opens
the external address the moment the run succeeds reaches the app (kube-proxy programs NodePorts a moment
after the app turns ready)."""

from __future__ import annotations

from typing import Any

from ...forwarding import ForwardError, PortUnavailable, connect_error
from ...kube import Kube
from ...models.clock import Clock
from ...models.runs import Endpoint, Run, Step, StepState
from ...models.settings import Settings
from ...store.ports import PortMapping, PortRangeExhausted, PortTaken
from .. import naming
from ..context import ChainContext
from ..diagnosis import APP_NOT_REACHABLE, NOT_REACHABLE_ADVICE
from ..runtime.outcomes import PermanentError, StepOutcome, TemporaryError
from .readiness import redeploy_hint

# While the NodePort does not answer: each try waits this long for the connection, and the next one comes
# this long after (or after TEKTON_RUNNER_POLL_INTERVAL when that is shorter).
CONNECT_TIMEOUT = 2.0
REACH_POLL = 0.5
WAITING_FOR_TARGET = "WaitingForNodePort"


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
    endpoint = run.endpoint
    if endpoint is None or step.reason != WAITING_FOR_TARGET or endpoint.host_local != f"{host}:{port}":
        mapping = await _publish(ctx, run, host, port)
        endpoint = Endpoint(
            namespace=namespace, service=run.app, node_port=port, host_local=f"{host}:{port}",
            external_port=mapping.port, external=f"{ctx.settings.public_host}:{mapping.port}",
        )
        await ctx.status.endpoint_set(run.id, endpoint)
    mapped = f"{endpoint.external} -> {endpoint.host_local}"
    if step.state is StepState.SUCCEEDED:  # re-applied by the resync's restoration, which waits for nothing
        return StepOutcome.done("Mapped", mapped)
    if ctx.settings.reach_timeout <= 0:
        return StepOutcome.done("Mapped", f"{mapped} (not tried: TEKTON_RUNNER_REACH_TIMEOUT is 0)")
    waiting = await reach(run, step, host, port, settings=ctx.settings, clock=ctx.clock)
    return waiting or StepOutcome.done("Mapped", f"{mapped}, which accepts connections")


async def reach(run: Run, step: Step, host: str, port: int, *, settings: Settings, clock: Clock) -> StepOutcome | None:
    """None once host:port accepts a TCP connection from this host (the path the external port's traffic
    takes, relayed or DNATed); until then a wait that says so, and once TEKTON_RUNNER_REACH_TIMEOUT has
    passed since the step started, AppNotReachable with the last error."""
    bound = settings.reach_timeout
    error = await connect_error(host, port, min(CONNECT_TIMEOUT, bound))
    if error is None:
        return None
    address = f"{host}:{port}"
    waited = (clock.now() - (step.started_at or clock.now())).total_seconds()
    if waited >= bound:
        raise PermanentError(
            f"the app is ready, but its NodePort {address} did not accept a TCP connection from the runner's "
            f"host within {bound:g}s (TEKTON_RUNNER_REACH_TIMEOUT); last error: {error}. To fix: "
            f"{NOT_REACHABLE_ADVICE}; {redeploy_hint(run)}", reason=APP_NOT_REACHABLE)
    return StepOutcome.wait(WAITING_FOR_TARGET, f"waiting for {address} to accept connections (last try: {error})",
                            delay=min(settings.poll_interval, REACH_POLL), timeout_reason=APP_NOT_REACHABLE)


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
