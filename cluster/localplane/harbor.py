"""The plane's registry as Harbor is met in the field: a host name, TLS with the site's CA, a robot account.

A second docker-registry process on the same storage as the plane's HTTP registry (plane.py): every
image pushed to one is served by the other without a copy (the node's images, the builds' base images,
what builds push), and the HTTP registry with its relay stays as the fast tier and the existing real
tests know it. node.py starts it on the bridge's address (pods and the host both reach that) on port
NodePorts.harbor, with a serving certificate signed by the plane's CA for NodeLayout.registry_name and
htpasswd (bcrypt) authentication for one robot account. Certificate and credentials are made once per
plane, under Layout.harbor, so they stay valid across node restarts and die with the plane's state.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pki

# Harbor names a system robot account robot$<name>; the '$' is kept on purpose, it trips careless quoting.
ROBOT = "robot$tekton-runner"
REALM = "tekton-runner local Harbor"


@dataclass(frozen=True)
class Robot:
    username: str
    password: str


def robot(directory: Path) -> Robot:
    """The robot account, generated the first time and kept in `directory`/robot.json (mode 0600)."""
    path = directory / "robot.json"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"username": ROBOT, "password": secrets.token_urlsafe(24)}, f)
    data = json.loads(path.read_text())
    return Robot(data["username"], data["password"])


def htpasswd(account: Robot) -> str:
    """The account's htpasswd line with a bcrypt hash (the only kind docker-registry accepts)."""
    tool = shutil.which("htpasswd")
    if tool is None:
        raise RuntimeError("htpasswd is not installed (Debian package apache2-utils)")
    # -i: the password on stdin, never on a command line other processes can read
    proc = subprocess.run([tool, "-niB", account.username], input=account.password, capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip() + "\n"


def certificate(directory: Path, ca_dir: Path, name: str) -> tuple[Path, Path]:
    """tls.crt/tls.key for `name` (SAN DNS:name), signed by the plane's CA; made once."""
    crt, key = directory / "tls.crt", directory / "tls.key"
    if not (crt.exists() and key.exists()):
        pki.sign_server(directory, "tls", [f"DNS:{name}"], ca_dir=ca_dir)
    return crt, key


def registry_config(storage: Path, listen: str, directory: Path) -> dict[str, Any]:
    """docker-registry's configuration: `storage` shared with the HTTP registry, TLS, htpasswd."""
    return {
        "version": 0.1,
        "log": {"level": "warn", "fields": {"service": "harbor"}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": listen, "headers": {"X-Content-Type-Options": ["nosniff"]},
                 "tls": {"certificate": str(directory / "tls.crt"), "key": str(directory / "tls.key")}},
        "auth": {"htpasswd": {"realm": REALM, "path": str(directory / "htpasswd")}},
    }


def write_config(directory: Path, ca_dir: Path, name: str, storage: Path, listen: str) -> Path:
    """Certificate, robot account, htpasswd file and registry config in `directory`; the config's path."""
    certificate(directory, ca_dir, name)
    (directory / "htpasswd").write_text(htpasswd(robot(directory)))
    config = directory / "config.yml"
    config.write_text(json.dumps(registry_config(storage, listen, directory)))  # JSON is YAML
    return config


def answers(address: str, ca: Path, account: Robot) -> bool:
    """/v2/ at `address` answers 200 for `account`, verified with `ca` (the host name resolved by the host)."""
    basic = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
    request = urllib.request.Request(f"https://{address}/v2/", headers={"Authorization": f"Basic {basic}"})
    try:
        with urllib.request.urlopen(request, timeout=2, context=ssl.create_default_context(cafile=str(ca))) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False
