"""KindProvisioner: a kind cluster ws-<name> per workspace, its kubeconfig in a configured directory."""

from __future__ import annotations

import asyncio
import builtins
import json
import shutil
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from ..kube import Kube
from ..manifests import Renderer
from ..models.locks import KeyedLocks
from ..models.settings import WorkspaceSettings
from .errors import InvalidWorkspace, WorkspaceError
from .kind_cli import KindCli
from .kind_config import NodeFiles, PortBlock, cluster_config, dump, node_files, port_blocks
from .preparing import prepare_namespace
from .resolving import pinned_addresses
from .targets import WorkspaceTarget, checked_name, cluster_name, namespace_of

Connect = Callable[[str], AbstractAsyncContextManager[Kube]]
PORTS_RECORD = "ports.json"
CONFIG_FILE = "kind-config.yaml"


class PortsExhausted(WorkspaceError):
    default_reason = "NodePortsExhausted"


class KindProvisioner:
    def __init__(
        self, renderer: Renderer, settings: WorkspaceSettings, *, cli: KindCli | None = None,
        connect: Connect = Kube.connect,
    ) -> None:
        if settings.kind_kubeconfig_dir is None or settings.kind_state_dir is None:
            raise ValueError("the kind provisioner needs kind_kubeconfig_dir and kind_state_dir")
        self._renderer = renderer
        self._settings = settings
        self._kubeconfigs: Path = settings.kind_kubeconfig_dir
        self._state: Path = settings.kind_state_dir
        self._cli = cli or KindCli(settings.kind_binary)
        self._connect = connect
        self._locks: KeyedLocks[str] = KeyedLocks()
        self._ports_lock = asyncio.Lock()  # port blocks are shared by all clusters

    def kubeconfig_path(self, workspace: str) -> Path:
        return self._kubeconfigs / f"{cluster_name(workspace)}.yaml"

    def node_dir(self, workspace: str) -> Path:
        return self._state / cluster_name(workspace)

    async def ensure(self, workspace: str) -> WorkspaceTarget:
        """Creates the cluster unless `kind get clusters` already lists it, then prepares its namespace."""
        cluster = cluster_name(checked_name(workspace))
        kubeconfig = self.kubeconfig_path(workspace)
        async with self._locks.hold(workspace):
            if cluster not in await self._cli.clusters():
                await self._create(workspace, cluster, kubeconfig)
            elif not await asyncio.to_thread(kubeconfig.is_file):
                await asyncio.to_thread(kubeconfig.parent.mkdir, parents=True, exist_ok=True)
                await self._cli.export_kubeconfig(cluster, kubeconfig=kubeconfig)
            target = await self._target(workspace)
            async with self._connect(str(kubeconfig)) as kube:
                await prepare_namespace(
                    kube, self._renderer, self._settings, workspace=workspace, namespace=target.namespace,
                )
        return target

    async def remove(self, workspace: str) -> None:
        """Deletes the cluster (when kind lists it), its kubeconfig and its node files."""
        cluster = cluster_name(checked_name(workspace))
        kubeconfig = self.kubeconfig_path(workspace)
        async with self._locks.hold(workspace):
            if cluster in await self._cli.clusters():
                await self._cli.delete(cluster, kubeconfig=kubeconfig)
            async with self._ports_lock:  # the port block is free once the node directory is gone
                await asyncio.to_thread(_forget, kubeconfig, self.node_dir(workspace))

    async def list(self) -> builtins.list[WorkspaceTarget]:
        targets = []
        for cluster in sorted(await self._cli.clusters()):
            if not cluster.startswith("ws-"):
                continue  # not a workspace: other kind clusters on this host are none of our business
            try:
                targets.append(await self._target(checked_name(cluster.removeprefix("ws-"))))
            except InvalidWorkspace:
                continue
        return targets

    async def _target(self, workspace: str) -> WorkspaceTarget:
        ports = await asyncio.to_thread(_read_ports, self.node_dir(workspace))
        return WorkspaceTarget(
            name=workspace, namespace=namespace_of(workspace), kubeconfig=self.kubeconfig_path(workspace),
            # Published NodePorts answer on the host; otherwise ask the cluster (the node container's IP).
            node_address=self._settings.kind_listen_address if ports is not None else None,
            provisioner="kind",
        )

    async def _create(self, workspace: str, cluster: str, kubeconfig: Path) -> None:
        node_dir = self.node_dir(workspace)
        ports = await self._reserve_ports(workspace)
        files = node_files(self._settings, await pinned_addresses(self._settings))
        config = cluster_config(
            cluster=cluster, settings=self._settings, node_dir=node_dir, files=files, ports=ports,
        )
        try:
            await asyncio.to_thread(_write_node_dir, node_dir, files, dump(config), kubeconfig.parent)
        except OSError as error:  # e.g. registry_ca_file missing, or the state directory not writable
            raise WorkspaceError(
                f"cannot write the node files of {cluster}: {error.strerror}: {error.filename}",
                reason="WorkspaceFilesUnwritable",
            ) from error
        await self._cli.create(
            cluster, config=node_dir / CONFIG_FILE, kubeconfig=kubeconfig, wait=self._settings.kind_wait,
        )

    async def _reserve_ports(self, workspace: str) -> PortBlock | None:
        if self._settings.kind_node_ports is None:
            return None
        blocks = port_blocks(self._settings.kind_node_ports, self._settings.kind_ports_per_workspace)
        async with self._ports_lock:
            block = await asyncio.to_thread(_reserve, self._state, self.node_dir(workspace), blocks)
        if block is None:
            raise PortsExhausted(
                f"all {len(blocks)} NodePort blocks of {self._settings.kind_ports_per_workspace} ports in "
                f"kind_node_ports are taken by other workspaces; remove one or widen the range"
            )
        return block


def _read_ports(node_dir: Path) -> PortBlock | None:
    try:
        record = json.loads((node_dir / PORTS_RECORD).read_text())
    except FileNotFoundError:
        return None
    return PortBlock(int(record["first"]), int(record["last"]))


def _reserve(state: Path, node_dir: Path, blocks: list[PortBlock]) -> PortBlock | None:
    """This workspace's recorded block, else the lowest block no other workspace has recorded."""
    mine = _read_ports(node_dir)
    if mine is not None:
        return mine
    used = {_read_ports(other) for other in state.glob("ws-*") if other.is_dir()}
    for block in blocks:
        if block not in used:
            node_dir.mkdir(parents=True, exist_ok=True)
            (node_dir / PORTS_RECORD).write_text(json.dumps({"first": block.first, "last": block.last}))
            return block
    return None


def _write_node_dir(node_dir: Path, files: NodeFiles, config: str, kubeconfig_dir: Path) -> None:
    for stale in ("certs.d", "tekton-runner"):  # settings may have changed since the last cluster
        shutil.rmtree(node_dir / stale, ignore_errors=True)
    for relative, text in files.texts.items():
        path = node_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for relative, source in files.copies.items():
        path = node_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    (node_dir / "certs.d").mkdir(parents=True, exist_ok=True)  # mounted even when empty
    (node_dir / CONFIG_FILE).write_text(config)
    kubeconfig_dir.mkdir(parents=True, exist_ok=True)


def _forget(kubeconfig: Path, node_dir: Path) -> None:
    kubeconfig.unlink(missing_ok=True)
    shutil.rmtree(node_dir, ignore_errors=True)
