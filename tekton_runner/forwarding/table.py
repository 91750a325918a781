"""ForwardTable: the live port mappings the runner serves; opens, retargets, closes and reports them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from types import TracebackType

from .errors import MappingExists, MappingNotFound, PortUnavailable
from .listening import accept_loop, bind, bound_address
from .relaying import RelayOptions, pick_engine, relay_path, serve_client
from .stats import Address, MappingCounters, MappingId, MappingState, MappingStats

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Mapping:
    id: MappingId
    listen: Address
    target: Address
    listener: socket.socket
    counters: MappingCounters
    state: MappingState = MappingState.LISTENING
    acceptor: asyncio.Task[None] | None = None
    clients: set[asyncio.Task[None]] = field(default_factory=set)


class ForwardTable:
    """Owns every listener and relayed connection; close_all() leaves no task or descriptor behind."""

    def __init__(self, options: RelayOptions | None = None, *, backlog: int = 1024) -> None:
        self.options = options or RelayOptions()
        self._engine = pick_engine(self.options.engine)
        self.path = relay_path(self.options.engine)
        self._backlog = backlog
        self._mappings: dict[MappingId, _Mapping] = {}

    async def open(
        self, mapping_id: str, listen_host: str, listen_port: int, target_host: str, target_port: int
    ) -> Address:
        """Listen on listen_host:listen_port and relay to the target; return the bound address.

        Raises MappingExists if the id is open, PortUnavailable if the port is held (here or by another
        process), ListenFailed for other bind errors. Never falls back to a different port.
        """
        mid = MappingId(mapping_id)
        if mid in self._mappings:
            raise MappingExists(mid)
        for other in self._mappings.values():
            if listen_port and other.listen.port == listen_port and _overlaps(other.listen.host, listen_host):
                raise PortUnavailable(listen_host, listen_port, holder=other.id)
        listener = await bind(listen_host, listen_port, self._backlog)
        if mid in self._mappings:  # opened by a concurrent call while we were resolving
            listener.close()
            raise MappingExists(mid)
        mapping = _Mapping(
            id=mid,
            listen=bound_address(listener),
            target=Address(target_host, target_port),
            listener=listener,
            counters=MappingCounters(),
        )
        self._mappings[mid] = mapping
        mapping.acceptor = asyncio.create_task(
            accept_loop(listener, lambda sock: self._spawn(mapping, sock), mapping.counters.failed),
            name=f"forward-accept-{mid}",
        )
        mapping.acceptor.add_done_callback(lambda task: self._acceptor_done(mapping, task))
        log.info("forward %s: %s -> %s", mid, mapping.listen, mapping.target)
        return mapping.listen

    async def retarget(self, mapping_id: str, target_host: str, target_port: int) -> None:
        """Send new connections to another target; the listener stays and live connections finish."""
        mapping = self._get(mapping_id)
        mapping.target = Address(target_host, target_port)
        log.info("forward %s: retargeted to %s", mapping.id, mapping.target)

    async def close(self, mapping_id: str, *, grace: float = 0.0) -> None:
        """Stop listening, let live connections run for up to `grace` seconds, then cut them."""
        mapping = self._get(mapping_id)
        mapping.state = MappingState.CLOSING
        try:
            if mapping.acceptor is not None:
                mapping.acceptor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mapping.acceptor
            mapping.listener.close()
            if mapping.clients and grace > 0:
                await asyncio.wait(set(mapping.clients), timeout=grace)
            for task in list(mapping.clients):
                task.cancel()
            if mapping.clients:
                await asyncio.gather(*mapping.clients, return_exceptions=True)
        finally:
            mapping.state = MappingState.CLOSED
            mapping.listener.close()
            self._mappings.pop(mapping.id, None)
        log.info("forward %s: closed", mapping.id)

    async def wait_quiet(self, mapping_id: str) -> None:
        """Return once the mapping has no live connection (new ones may arrive right after)."""
        mapping = self._get(mapping_id)
        while mapping.clients:
            await asyncio.wait(set(mapping.clients))

    async def close_all(self, *, grace: float = 0.0) -> None:
        """Close every mapping concurrently (service shutdown)."""
        await asyncio.gather(*(self.close(mid, grace=grace) for mid in list(self._mappings)))

    def stats(self, mapping_id: str) -> MappingStats:
        """Immutable counters of one open mapping."""
        return self._snapshot(self._get(mapping_id))

    def snapshot(self) -> list[MappingStats]:
        """Immutable counters of every open mapping, ordered by id."""
        return [self._snapshot(self._mappings[mid]) for mid in sorted(self._mappings)]

    def __contains__(self, mapping_id: object) -> bool:
        return mapping_id in self._mappings

    def __len__(self) -> int:
        return len(self._mappings)

    async def __aenter__(self) -> ForwardTable:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close_all()

    def _get(self, mapping_id: str) -> _Mapping:
        try:
            return self._mappings[MappingId(mapping_id)]
        except KeyError:
            raise MappingNotFound(mapping_id) from None

    def _snapshot(self, mapping: _Mapping) -> MappingStats:
        return mapping.counters.snapshot(mapping.id, mapping.state, mapping.listen, mapping.target, self.path)

    def _spawn(self, mapping: _Mapping, client: socket.socket) -> None:
        # The target is read per connection: that is what makes retarget() move only new connections.
        task = asyncio.create_task(
            serve_client(client, mapping.target, self._engine, self.options, mapping.counters),
            name=f"forward-conn-{mapping.id}",
        )
        mapping.clients.add(task)
        task.add_done_callback(lambda t: self._client_done(mapping, t))

    @staticmethod
    def _client_done(mapping: _Mapping, task: asyncio.Task[None]) -> None:
        mapping.clients.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            mapping.counters.failed(f"relay: {exc!r}")
            log.error("forward %s: connection task failed", mapping.id, exc_info=exc)

    @staticmethod
    def _acceptor_done(mapping: _Mapping, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            mapping.counters.failed(f"accept: {exc!r}")
            log.error("forward %s: listener stopped", mapping.id, exc_info=exc)


def _overlaps(a: str, b: str) -> bool:
    """Whether two listen hosts can collide on one port (a wildcard collides with everything)."""
    wildcard = {"", "0.0.0.0", "::"}
    return a in wildcard or b in wildcard or a == b
