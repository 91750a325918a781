"""Runs the kind CLI (argv lists, never a shell) with a deadline; the only place kind.py starts processes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from .errors import KindFailed, KindMissing

log = logging.getLogger("tekton_runner.workspaces.kind")
_KEEP = 2000  # characters of kind's stderr kept in an error message
CREATE_MARGIN = 600.0  # on top of --wait: pulling the node image and booting the node container


class KindCli:
    def __init__(self, binary: str, *, timeout: float = 60.0) -> None:
        self.binary = binary
        self.timeout = timeout  # for the quick commands; create gets --wait plus CREATE_MARGIN

    async def run(self, *args: str, timeout: float | None = None) -> str:
        """kind's stdout; KindFailed on a non-zero exit or when the deadline passes (the process is killed)."""
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary, *args,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        except (FileNotFoundError, PermissionError) as error:
            raise KindMissing(f"cannot run the kind binary {self.binary!r}: {error.strerror}") from error
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                out, err = await process.communicate()
        except BaseException as error:  # the deadline, or the caller was cancelled: do not leave kind behind
            if process.returncode is None:
                process.kill()
                await process.wait()
            if isinstance(error, TimeoutError):
                raise KindFailed(f"`kind {' '.join(args[:2])}` did not finish within {limit:.0f}s") from error
            raise
        if process.returncode != 0:
            detail = err.decode(errors="replace").strip()[-_KEEP:]
            raise KindFailed(f"`kind {' '.join(args[:2])}` exited with {process.returncode}: {detail}")
        return out.decode(errors="replace")

    async def clusters(self) -> set[str]:
        """Names `kind get clusters` prints, one a line (it says "No kind clusters found." on stderr)."""
        out = await self.run("get", "clusters")
        return {line.strip() for line in out.splitlines() if line.strip()}

    async def create(self, name: str, *, config: Path, kubeconfig: Path, wait: float) -> None:
        log.info("creating kind cluster %s", name)
        await self.run(
            "create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(kubeconfig),
            "--wait", f"{int(wait)}s",
            timeout=wait + CREATE_MARGIN,
        )

    async def export_kubeconfig(self, name: str, *, kubeconfig: Path) -> None:
        await self.run("export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig))

    async def delete(self, name: str, *, kubeconfig: Path) -> None:
        log.info("deleting kind cluster %s", name)
        await self.run("delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig))
