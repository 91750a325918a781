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

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import tekton
from .config import read_versions

RECIPE_VERSION = "1"
REPOSITORY = "tekton-runner-node"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# Packages a dependency walk stops at: they only serve maintainer scripts or the init system,
# which an image does not run.
NOT_IN_IMAGES = frozenset({
    "adduser", "cdebconf", "debconf", "dpkg", "init-system-helpers", "install-info", "lsb-base", "passwd",
    "perl", "perl-base", "postgresql-common", "postgresql-client-common", "ssl-cert", "sysvinit-utils",
    "usr-is-merged", "usrmerge", "tar", "libpam-modules", "libpam-modules-bin", "locales",
    "locales-all", "logrotate", "procps", "ucf", "lsb-release", "libelogind0",
})


def _run(*argv: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc.stdout


# ---------------------------------------------------------------------------------------- Debian


def candidate_versions(packages: Iterable[str]) -> dict[str, str]:
    """Package -> the version apt would install (the image's input)."""
    out = _run("apt-cache", "policy", *sorted(set(packages)))
    versions: dict[str, str] = {}
    current = ""
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = line.rstrip(":")
        elif line.strip().startswith("Candidate:"):
            versions[current] = line.split(":", 1)[1].strip()
    missing = [p for p in packages if versions.get(p, "(none)") == "(none)"]
    if missing:
        raise RuntimeError(f"no Debian package candidate for {missing}: run apt-get update")
    return versions


def dependency_closure(roots: Iterable[str]) -> list[str]:
    """The packages `roots` need at run time: Depends and PreDepends, first alternative of each, walked
    breadth first and stopped at NOT_IN_IMAGES."""
    seen: set[str] = set()
    frontier = sorted(set(roots))
    while frontier:
        seen.update(frontier)
        out = _run("apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
                   "--no-breaks", "--no-replaces", "--no-enhances", *frontier)
        found: set[str] = set()
        skip_alternatives = False
        for line in out.splitlines():
            if not line.startswith(" "):
                skip_alternatives = False
                continue
            text = line.strip()
            if ":" not in text:  # a provider of a virtual package: take none
                continue
            kind, dep = (part.strip() for part in text.split(":", 1))
            kind = kind.lstrip("|")
            if kind not in ("Depends", "PreDepends"):
                continue
            if skip_alternatives:  # the previous line was the chosen alternative
                skip_alternatives = line.lstrip().startswith("|")
                continue
            skip_alternatives = line.lstrip().startswith("|")
            dep = dep.split(":")[0]
            if dep.startswith("<") or dep in NOT_IN_IMAGES:
                continue
            found.add(dep)
        frontier = sorted(found - seen)
    return sorted(seen)


def unpack_debs(packages: list[str], root: Path, downloads: Path) -> None:
    downloads.mkdir(parents=True, exist_ok=True)
    _run("apt-get", "download", "-qq", *packages, cwd=downloads)
    versions = candidate_versions(packages)
    for pkg in packages:
        # apt-get download names files <name>_<version with ':' as %3a>_<arch>.deb
        quoted = versions[pkg].replace(":", "%3a")
        debs = list(downloads.glob(f"{pkg}_{quoted}_*.deb"))
        if not debs:
            raise RuntimeError(f"apt-get download left no .deb for {pkg} {versions[pkg]} in {downloads}")
        _run("dpkg-deb", "-x", debs[0], root)


# ---------------------------------------------------------------------------------------- layers


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def write_layer(root: Path, out: Path) -> tuple[str, str, int]:
    """gzip'd tar of `root` at `out`; returns (diff_id, digest, size)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = Path(dirpath) / name
                arcname = str(path.relative_to(root))
                tar.add(path, arcname=arcname, recursive=False, filter=_normalise)
    data = raw.getvalue()
    with open(out, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(data)
    blob = out.read_bytes()
    return ("sha256:" + hashlib.sha256(data).hexdigest(), "sha256:" + hashlib.sha256(blob).hexdigest(),
            len(blob))


def _blob(directory: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (directory / digest.replace(":", "-")).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def write_image(root: Path, directory: Path, config: dict[str, Any]) -> None:
    """A one-layer OCI image of `root` in `directory`: blobs named by digest and manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "layer.tmp"
    diff_id, digest, size = write_layer(root, tmp)
    tmp.rename(directory / digest.replace(":", "-"))
    image_config = {
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    cfg = _blob(directory, json.dumps(image_config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, **cfg},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": digest, "size": size}],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))


# ---------------------------------------------------------------------------------------- recipes


def _busybox_files(root: Path) -> None:
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise RuntimeError("Debian's busybox-static is not installed (apt-get install busybox-static)")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    target = root / "bin" / "busybox"
    shutil.copy2(busybox, target)
    for applet in _run(busybox, "--list-full").split():
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


def _busybox_inputs() -> list[str]:
    return [f"busybox-static={candidate_versions(['busybox-static'])['busybox-static']}",
            hashlib.sha256(Path("/bin/busybox").read_bytes()).hexdigest() if Path("/bin/busybox").exists() else ""]


@dataclass(frozen=True)
class Recipe:
    name: str
    inputs: Callable[[], list[str]]
    fill: Callable[[Path, Path], None]  # (rootfs, scratch dir)
    config: dict[str, Any]


def _pause_source() -> Path:
    versions = read_versions()
    kube = tekton.module_dir("k8s.io/kubernetes", "v" + versions["K8S_VERSION"])
    return kube / "build" / "pause" / "linux" / "pause.c"


def _pause_inputs() -> list[str]:
    return [hashlib.sha256(_pause_source().read_bytes()).hexdigest(), _run("gcc", "--version").splitlines()[0]]


def _pause_fill(root: Path, scratch: Path) -> None:
    out = root / "pause"
    _run("gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=tekton-runner-local", "-o", out, _pause_source())
    _run("strip", out)


def _debian_inputs(roots: list[str]) -> Callable[[], list[str]]:
    def inputs() -> list[str]:
        closure = dependency_closure(roots)
        versions = candidate_versions(closure)
        return [*_busybox_inputs(), *(f"{p}={versions[p]}" for p in closure)]
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


def _postgres_extra(root: Path) -> None:
    with open(root / "etc" / "passwd", "a") as f:
        f.write("postgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\n")
    with open(root / "etc" / "group", "a") as f:
        f.write("postgres:x:999:\n")
    for d in ("var/lib/postgresql", "run/postgresql"):
        (root / d).mkdir(parents=True, exist_ok=True)
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
    "postgres": Recipe("postgres", _debian_inputs(["postgresql-15"]),
                       _debian_fill(["postgresql-15"], _postgres_extra), {
        "Entrypoint": ["/usr/local/bin/postgres-entrypoint"],
        "Env": ["PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "PGDATA=/var/lib/postgresql/data"],
        "ExposedPorts": {"5432/tcp": {}}}),
}


# ---------------------------------------------------------------------------------------- cache


class Images:
    def __init__(self, cache: Path, registry_host: str) -> None:
        self.dir = cache / "images"
        self.registry_host = registry_host

    def key(self, name: str) -> str:
        recipe = RECIPES[name]
        text = json.dumps([RECIPE_VERSION, name, recipe.config, recipe.inputs()])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def reference(self, name: str, key: str | None = None) -> str:
        return f"{self.registry_host}/{REPOSITORY}/{name}:{key or self.key(name)}"

    def build(self, name: str, key: str | None = None) -> Path:
        """The cached image directory for `name`, built when its inputs changed."""
        key = key or self.key(name)
        out = self.dir / name / key
        if (out / "manifest.json").exists():
            return out
        recipe = RECIPES[name]
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
