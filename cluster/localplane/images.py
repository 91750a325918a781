"""Container images for the real node, built here without any public registry, and pushed to the plane's.

Each image is one layer written by Python (a reproducible tar: sorted, owner root, mtime 0), an OCI
config and an OCI manifest, cached under $CACHE/images/<name>/<key>/ where the key is a hash of the
image's inputs (source files, Debian package versions, this module's recipe version). Nothing is
rebuilt while the inputs stay the same; pushing an image that the registry already holds costs a few
HEAD requests. node.py pushes the pause image before the kubelet starts; `ctl.py images` builds them all.

Images:
- pause: kubernetes' build/pause/linux/pause.c from the k8s.io/kubernetes module, compiled statically.
- busybox: Debian's busybox-static with a link per applet, /etc/passwd and /tmp.
- redis, postgres: the Debian packages and the packages they depend on unpacked with `dpkg -x`
  (maintainer scripts are not run), on top of the busybox files so the images have a shell.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import tekton
from .config import read_versions
from .debs import apt_index_stamp, candidate_versions, dependency_closure, run, unpack_debs
from .oci import MEDIA_MANIFEST, write_image

RECIPE_VERSION = "1"
REPOSITORY = "tekton-runner-node"

# ---------------------------------------------------------------------------------------- recipes


def _busybox_files(root: Path) -> None:
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise RuntimeError("Debian's busybox-static is not installed (apt-get install busybox-static)")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    target = root / "bin" / "busybox"
    shutil.copy2(busybox, target)
    for applet in run(busybox, "--list-full").split():
        link = root / applet
        if link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (etc / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    for d in ("root", "tmp", "var/tmp"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for d in ("tmp", "var/tmp"):
        (root / d).chmod(0o1777 | stat.S_IFDIR)


def _busybox_inputs(_cache: Path) -> list[str]:
    return [f"busybox-static={candidate_versions(['busybox-static'])['busybox-static']}",
            hashlib.sha256(Path("/bin/busybox").read_bytes()).hexdigest() if Path("/bin/busybox").exists() else ""]


@dataclass(frozen=True)
class Recipe:
    name: str
    inputs: Callable[[Path], list[str]]  # (the images cache directory) -> what the image is made of
    fill: Callable[[Path, Path], None]  # (rootfs, scratch dir)
    config: dict[str, Any]


def _pause_source() -> Path:
    versions = read_versions()
    kube = tekton.module_dir("k8s.io/kubernetes", "v" + versions["K8S_VERSION"])
    return kube / "build" / "pause" / "linux" / "pause.c"


def _pause_inputs(_cache: Path) -> list[str]:
    return [hashlib.sha256(_pause_source().read_bytes()).hexdigest(), run("gcc", "--version").splitlines()[0]]


def _pause_fill(root: Path, scratch: Path) -> None:
    out = root / "pause"
    run("gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=tekton-runner-local", "-o", out, _pause_source())
    run("strip", out)


def _debian_inputs(roots: list[str]) -> Callable[[Path], list[str]]:
    """The packages and versions an image unpacks; remembered per state of apt's package index, because
    walking the dependencies takes several apt-cache calls."""
    def inputs(cache: Path) -> list[str]:
        memo = cache / f"debian-inputs-{'+'.join(roots)}.json"
        stamp = apt_index_stamp()
        try:
            saved = json.loads(memo.read_text())
            if saved["apt"] == stamp:
                return [*_busybox_inputs(cache), *saved["packages"]]
        except (OSError, ValueError, KeyError):
            pass
        closure = dependency_closure(roots)
        versions = candidate_versions(closure)
        packages = [f"{p}={versions[p]}" for p in closure]
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({"apt": stamp, "packages": packages}))
        return [*_busybox_inputs(cache), *packages]
    return inputs


def _debian_fill(roots: list[str], extra: Callable[[Path], None] | None = None) -> Callable[[Path, Path], None]:
    def fill(root: Path, scratch: Path) -> None:
        _busybox_files(root)
        unpack_debs(dependency_closure(roots), root, scratch / "debs")
        if extra:
            extra(root)
    return fill


def _redis_extra(root: Path) -> None:
    (root / "data").mkdir(exist_ok=True)
    (root / "data").chmod(0o777 | stat.S_IFDIR)


POSTGRES_ENTRYPOINT = """#!/bin/sh
# Initialise $PGDATA on first start (user POSTGRES_USER, password POSTGRES_PASSWORD, database
# POSTGRES_DB, as the usual postgres image reads them), then run the server in the foreground.
set -e
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
user=${POSTGRES_USER:-postgres}
bin=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec su postgres -s /bin/sh -c "exec \\"$0\\" \\"\\$@\\"" -- "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\\n' "${POSTGRES_PASSWORD:-postgres}" > /tmp/pwfile
  "$bin/initdb" --username="$user" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=md5 \\
    --encoding=UTF8 --locale=C -D "$PGDATA" >/dev/null
  rm -f /tmp/pwfile
  echo "host all all 0.0.0.0/0 md5" >> "$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    "$bin/postgres" --single -D "$PGDATA" postgres <<EOF >/dev/null
CREATE DATABASE "$POSTGRES_DB" OWNER "$user";
EOF
  fi
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
"""


# Debian's base-files link /var/run to /run; its libpq looks for the server's socket in /var/run/postgresql
# (pg_isready in the readiness probe, psql without a host), the entrypoint puts it in /run/postgresql.
POSTGRES_LINKS = {"var/run": "/run"}


def _postgres_inputs(cache: Path) -> list[str]:
    """The packages, and what _postgres_extra writes: a change to either is a new image."""
    written = json.dumps([POSTGRES_ENTRYPOINT, POSTGRES_LINKS])
    return [*_debian_inputs(["postgresql-15"])(cache), hashlib.sha256(written.encode()).hexdigest()]


def _postgres_extra(root: Path) -> None:
    with open(root / "etc" / "passwd", "a") as f:
        f.write("postgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\n")
    with open(root / "etc" / "group", "a") as f:
        f.write("postgres:x:999:\n")
    for d in ("var/lib/postgresql", "run/postgresql"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for link, target in POSTGRES_LINKS.items():
        (root / link).symlink_to(target)
    entry = root / "usr" / "local" / "bin" / "postgres-entrypoint"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(POSTGRES_ENTRYPOINT)
    entry.chmod(0o755)


RECIPES: dict[str, Recipe] = {
    "pause": Recipe("pause", _pause_inputs, _pause_fill, {"Entrypoint": ["/pause"], "User": "65535:65535"}),
    "busybox": Recipe("busybox", _busybox_inputs, lambda root, _s: _busybox_files(root),
                      {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}),
    "redis": Recipe("redis", _debian_inputs(["redis-server"]), _debian_fill(["redis-server"], _redis_extra), {
        "Cmd": ["redis-server", "--protected-mode", "no", "--dir", "/data"], "WorkingDir": "/data",
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "ExposedPorts": {"6379/tcp": {}}}),
    "postgres": Recipe("postgres", _postgres_inputs,
                       _debian_fill(["postgresql-15"], _postgres_extra), {
        "Entrypoint": ["/usr/local/bin/postgres-entrypoint"],
        "Env": ["PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "PGDATA=/var/lib/postgresql/data"],
        "ExposedPorts": {"5432/tcp": {}}}),
}


# ---------------------------------------------------------------------------------------- cache


class Images:
    def __init__(self, cache: Path, registry_host: str, recipes: Mapping[str, Recipe] | None = None) -> None:
        self.dir = cache / "images"
        self.registry_host = registry_host
        self.recipes = RECIPES if recipes is None else recipes
        self._keys: dict[str, str] = {}  # reading the inputs takes apt-cache and build.sh calls

    def key(self, name: str) -> str:
        if name not in self._keys:
            recipe = self.recipes[name]
            text = json.dumps([RECIPE_VERSION, name, recipe.config, recipe.inputs(self.dir)])
            self._keys[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._keys[name]

    def reference(self, name: str, key: str | None = None) -> str:
        return f"{self.registry_host}/{REPOSITORY}/{name}:{key or self.key(name)}"

    def build(self, name: str, key: str | None = None) -> Path:
        """The cached image directory for `name`, built when its inputs changed."""
        key = key or self.key(name)
        out = self.dir / name / key
        if (out / "manifest.json").exists():
            return out
        recipe = self.recipes[name]
        (self.dir / name).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.dir / name) as tmp:
            scratch = Path(tmp)
            root = scratch / "rootfs"
            root.mkdir()
            recipe.fill(root, scratch)
            staged = scratch / "image"
            write_image(root, staged, recipe.config)
            staged.rename(out)
        return out

    def push(self, name: str) -> str:
        """Build if needed and push to the registry; returns the reference."""
        key = self.key(name)
        directory = self.build(name, key)
        manifest = json.loads((directory / "manifest.json").read_text())
        repo = f"{REPOSITORY}/{name}"
        for blob in [manifest["config"], *manifest["layers"]]:
            self._push_blob(repo, directory / blob["digest"].replace(":", "-"), blob["digest"])
        body = (directory / "manifest.json").read_bytes()
        self._request("PUT", f"/v2/{repo}/manifests/{key}", body, {"Content-Type": MEDIA_MANIFEST})
        return self.reference(name, key)

    def _request(self, method: str, path_or_url: str, body: bytes | Any = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
        url = path_or_url if path_or_url.startswith("http") else f"http://{self.registry_host}{path_or_url}"
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, dict(resp.headers)
        except urllib.error.HTTPError as err:
            if method == "HEAD" and err.code == 404:
                return 404, {}
            raise RuntimeError(f"{method} {url}: HTTP {err.code}: {err.read()[:300]!r}") from err

    def _push_blob(self, repo: str, path: Path, digest: str) -> None:
        if self._request("HEAD", f"/v2/{repo}/blobs/{digest}")[0] == 200:
            return
        _, headers = self._request("POST", f"/v2/{repo}/blobs/uploads/", b"")
        location = headers["Location"]
        if not location.startswith("http"):
            location = f"http://{self.registry_host}{location}"
        sep = "&" if "?" in location else "?"
        with open(path, "rb") as f:
            self._request("PUT", f"{location}{sep}digest={digest}", f, {
                "Content-Type": "application/octet-stream", "Content-Length": str(path.stat().st_size)})
