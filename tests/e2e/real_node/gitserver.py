"""Git servers for the real tier, serving the bare repositories under one directory: smart HTTP (git's own
`git http-backend` behind aiohttp as a CGI program) and `git daemon` (git://, the scheme the runner
accepts without TLS). Bound to the node's bridge address, so build pods reach them the way they would
reach a git host outside the cluster."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from tests.e2e.kubeapi import poll


def commit_repository(work: Path, files: dict[str, str], bare: Path) -> str:
    """A repository with `files` in one commit on branch main, cloned bare to `bare`; returns the commit."""
    work.mkdir(parents=True)
    for name, text in files.items():
        (work / name).write_text(text)

    def git(*args: str, cwd: Path = work) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid",
               "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid"}
        return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "app")
    git("clone", "-q", "--bare", str(work), str(bare), cwd=work.parent)
    return git("rev-parse", "HEAD")


async def _backend(request: web.Request, root: Path) -> web.StreamResponse:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": request.method, "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string, "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_ADDR": request.remote or "", "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        "HTTP_GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
    }
    body = await request.read()
    env["CONTENT_LENGTH"] = str(len(body))
    proc = await asyncio.create_subprocess_exec("git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(body)
    head, _, payload = out.partition(b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    if proc.returncode != 0 and status == 200:
        status = 500
        payload = err
    return web.Response(status=status, body=payload, headers=headers)


@asynccontextmanager
async def serve_git(root: Path, host: str) -> AsyncIterator[str]:
    """Serve the bare repositories under `root` on `host` (a free port); yields the base URL."""
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _backend(request, root)

    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_git_daemon(root: Path, host: str) -> AsyncIterator[str]:
    """Serve the bare repositories under `root` with `git daemon` (the git:// protocol) on `host`; yields the
    base URL. The runner takes https://, ssh:// and git:// sources, and this one needs no certificate."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    daemon = await asyncio.create_subprocess_exec(
        "git", "daemon", "--reuseaddr", "--export-all", f"--base-path={root}", f"--listen={host}", f"--port={port}",
        str(root), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)

    async def listening() -> bool:
        if daemon.returncode is not None:
            raise AssertionError(f"git daemon exited with {daemon.returncode}")
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    try:
        await poll(f"git daemon on {host}:{port}", listening, 10)
        yield f"git://{host}:{port}"
    finally:
        if daemon.returncode is None:
            daemon.terminate()
        await daemon.wait()
