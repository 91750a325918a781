"""The real runner (`tekton-runner serve`) as a child process of an e2e test, pointed at the local plane."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.kubeapi import poll

TERMINAL = ("succeeded", "failed", "deleted")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Runner:
    def __init__(self, cluster_env: dict[str, str], data_dir: Path, *, log_path: Path | None = None,
                 address: str = "127.0.0.1", wrap: Sequence[str] = (),
                 settings: dict[str, str] | None = None) -> None:
        """`address`: where it listens and is reached; `wrap`: a command prefix it runs under (a netns);
        `settings`: environment a tier sets differently."""
        self.port = free_port()
        self.base_url = f"http://{address}:{self.port}"
        self._wrap = tuple(wrap)
        self.data_dir = data_dir
        self.log_path = log_path or data_dir / "runner.log"  # replicas on one data_dir keep their own logs
        self.env = {
            **os.environ, **cluster_env,
            "TEKTON_RUNNER_HOST": address, "TEKTON_RUNNER_PORT": str(self.port),
            "TEKTON_RUNNER_DATA_DIR": str(data_dir),
            # build pods of the local plane run on this host (kwok), so they reach the runner on loopback
            "TEKTON_RUNNER_PUBLIC_URL": self.base_url,
            # short loops so that recovery paths finish within a test's time
            "TEKTON_RUNNER_RESYNC_SECONDS": "2", "TEKTON_RUNNER_POLL_INTERVAL": "0.3",
            "TEKTON_RUNNER_READY_TIMEOUT": "120",
            # the kwok tier: kwok's NodePorts never answer, so the forward step must not wait for them (the
            # real tier sets its own bound)
            "TEKTON_RUNNER_REACH_TIMEOUT": "0",
            **(settings or {}),  # what a tier sets differently
        }
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def events_sink(self) -> str:
        return f"{self.base_url}/cloudevents"

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = await asyncio.to_thread(open, self.log_path, "ab")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._wrap, sys.executable, "-m", "tekton_runner.cli", "serve", env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT)
        finally:
            await asyncio.to_thread(log.close)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await poll("the runner answering /healthz", self._healthy, 30)

    async def _healthy(self) -> bool:
        assert self._proc is not None
        if self._proc.returncode is not None:
            raise AssertionError(f"the runner exited with {self._proc.returncode}:\n{await self.log_tail()}")
        try:
            async with self.session.get(f"{self.base_url}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientConnectionError:
            return False

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._proc.wait(), 20)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        self._proc = None

    async def kill(self) -> None:
        """SIGKILL: nothing of the runner's shutdown runs (no Lease released, no chain stopped cleanly)."""
        assert self._proc is not None
        self._proc.kill()
        await self._proc.wait()
        self._proc = None

    def signal(self, number: signal.Signals) -> None:
        """SIGSTOP / SIGCONT: a process that cannot reach anything while stopped, then wakes."""
        assert self._proc is not None
        self._proc.send_signal(number)

    async def restart(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.stop()
        await self.start()

    async def close(self) -> None:
        # close our keep-alive connections first: the server's graceful shutdown waits for open ones
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.stop()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    async def log_tail(self, lines: int = 40) -> str:
        text = await asyncio.to_thread(self.log_path.read_text, errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- API ---------------------------------------------------------------------------------

    async def post_run(self, spec: dict[str, Any]) -> str:
        async with self.session.post(f"{self.base_url}/run", json=spec) as resp:
            body = await resp.json()
            assert resp.status == 202, f"POST /run answered {resp.status}: {body}"
            run_id: str = body["run_id"]
            return run_id

    async def get_run(self, run_id: str) -> dict[str, Any]:
        async with self.session.get(f"{self.base_url}/runs/{run_id}") as resp:
            assert resp.status == 200, f"GET /runs/{run_id}: {resp.status}"
            body: dict[str, Any] = await resp.json()
            return body

    async def wait_terminal(self, run_id: str, within: float = 120) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            run = await self.get_run(run_id)
            return run if run["state"] in TERMINAL else None
        try:
            return await poll(f"run {run_id} to end", probe, within)
        except AssertionError as err:
            raise AssertionError(f"{err}\nlast state: {await self.get_run(run_id)}\n{await self.log_tail()}") from err

    async def wait_state(self, run_id: str, state: str, within: float = 60) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            run = await self.get_run(run_id)
            return run if run["state"] == state else None
        return await poll(f"run {run_id} in state {state}", probe, within)

    async def find_run(self, run_id: str) -> dict[str, Any] | None:
        """The run, or None while the runner has not recorded it (a push build's run appears on its event)."""
        async with self.session.get(f"{self.base_url}/runs/{run_id}") as resp:
            if resp.status == 404:
                return None
            assert resp.status == 200, f"GET /runs/{run_id}: {resp.status}"
            body: dict[str, Any] = await resp.json()
            return body

    async def register_app(self, registration: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(f"{self.base_url}/apps", json=registration) as resp:
            body: dict[str, Any] = await resp.json()
            assert resp.status in (200, 201), f"POST /apps answered {resp.status}: {body}"
            return resp.status, body

    async def delete_app(self, app_id: str) -> int:
        async with self.session.delete(f"{self.base_url}/apps/{app_id}") as resp:
            assert resp.status in (200, 404), f"DELETE /apps/{app_id}: {resp.status} {await resp.text()}"
            return resp.status

    async def app_status(self, app_id: str) -> int:
        async with self.session.get(f"{self.base_url}/apps/{app_id}") as resp:
            return resp.status

    async def events_counted(self, type_: str | None, action: str) -> float:
        """The runner's own count of CloudEvents it received, from /metrics (type: a Tekton type or its kind)."""
        if type_ is not None:  # the metric's label is the kind (`successful`), from a fixed set
            type_ = type_.removeprefix("dev.tekton.event.taskrun.").split(".", 1)[0]
        async with self.session.get(f"{self.base_url}/metrics") as resp:
            text = await resp.text()
        total = 0.0
        pattern = re.compile(r'^tekton_runner_events_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')
        for line in text.splitlines():
            m = pattern.match(line)
            if not m or f'action="{action}"' not in m["labels"]:
                continue
            if type_ is None or f'type="{type_}"' in m["labels"]:
                total += float(m["value"])
        return total


def run_spec(workspace: str, app: str = "web") -> dict[str, Any]:
    return {
        "workspace": workspace,
        "app": {"name": app, "port": 8080},
        "source": {"type": "git", "url": "https://git.invalid/shop/web.git", "revision": "main"},
        "dependency": {"type": "both"},
        "migration": {"enabled": True, "command": ["./manage", "migrate"]},
    }
