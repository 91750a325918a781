"""A throwaway PostgreSQL server from Debian's package, for the tests and the API benchmark.

initdb into a temporary directory, then pg_ctl start on a free port of 127.0.0.1 with trust
authentication. PostgreSQL refuses to run as root: as root the server runs as the `postgres` user
(created by the Debian package) through runuser. With no server installed this fails with the command
that installs one: the PostgreSQL tests are never skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

INSTALL_HINT = "PostgreSQL is not installed: run `bash scripts/test-tools.sh` (apt-get install postgresql)"


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(INSTALL_HINT)
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def running_postgres(*, max_connections: int = 200) -> Iterator[str]:
    """Yields the URL of a fresh server's `postgres` database; the server and its files go at the end."""
    binaries = _binaries()
    scratch = Path(tempfile.mkdtemp(prefix="tekton-runner-pg-"))
    data = scratch / "data"
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                    "--no-sync", "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
    options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {scratch} -c fsync=off "
               f"-c max_connections={max_connections}")
    subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                    str(scratch / "server.log"), "-w", "start"]), check=True, capture_output=True)
    try:
        # Trust authentication ignores the password; giving one, and no TLS on loopback, keeps asyncpg from
        # looking for ~/.pgpass and ~/.postgresql certificates inside the event loop.
        yield f"postgresql://postgres:unused@127.0.0.1:{port}/postgres?sslmode=disable"
    finally:
        subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
