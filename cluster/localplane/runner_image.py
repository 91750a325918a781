"""The runner's own image without Docker or a public registry: Debian's python3 (the versions pinned in
debian-packages.lock), a virtualenv with requirements.lock and the project's wheel installed by that
python3 in a chroot, written as an OCI image layout. Used by cluster/image.py (`make image`) and the
image test.

The image is one layer (oci.write_layer) of the finished root filesystem, so no wheel or pip is in it.
It is cached under $CACHE/runner-image/<key>/, where the key is a hash of every input: the Debian lock,
requirements.lock, the files the wheel is built from, common/settings.env (the port it listens on), the
pip that installs, and RECIPE_VERSION. Building needs root (chroot) and the package registries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pip  # the installer run inside the image (copied in and removed again); its version is an input

from .config import Layout
from .debs import candidate_versions, dependency_closure, run, unpack_debs
from .oci import MEDIA_CONFIG, MEDIA_LAYER, MEDIA_MANIFEST, write_layer

RECIPE_VERSION = "1"
REPO = Path(__file__).resolve().parents[2]
DEBIAN_LOCK = REPO / "debian-packages.lock"
COMMON_SETTINGS = REPO / "common" / "settings.env"
# What the image is made of, as the Dockerfile copies it (.dockerignore keeps the rest out).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "tekton_runner", "manifests")
DEBIAN_ROOTS = ("python3", "ca-certificates")  # ca-certificates: TLS to GitHub and registries

USER_ID = 10001
USER_NAME = "runner"
VENV = "/opt/tekton-runner"
DATA_DIR = "/var/lib/tekton-runner"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The relay's external ports (TEKTON_RUNNER_EXTERNAL_PORT_RANGE's default), as the Dockerfile exposes them.
RELAY_PORTS = range(18000, 19000)
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01: zip files (wheels) cannot hold an earlier time


def common_settings() -> dict[str, str]:
    """common/settings.env: the values triggers/ and deploy/ share."""
    pairs = {}
    for line in COMMON_SETTINGS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def image_config() -> dict[str, Any]:
    port = int(common_settings()["runner_port"])
    return {
        "User": f"{USER_ID}:{USER_ID}",
        "Entrypoint": ["tekton-runner"],
        "Cmd": ["serve"],
        "Env": [f"PATH={VENV}/bin:{BASE_PATH}", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
                f"TEKTON_RUNNER_DATA_DIR={DATA_DIR}", f"TEKTON_RUNNER_PORT={port}"],
        "WorkingDir": DATA_DIR,
        "Volumes": {DATA_DIR: {}},
        "ExposedPorts": {f"{p}/tcp": {} for p in [port, *RELAY_PORTS]},
        "Labels": {"org.opencontainers.image.title": "tekton-runner",
                   "org.opencontainers.image.base.name": "debian:bookworm (packages in debian-packages.lock)"},
    }


# ---------------------------------------------------------------------------------------- the Debian lock


def read_debian_lock() -> dict[str, str]:
    """debian-packages.lock: package -> version, one `name=version` a line."""
    pins = {}
    for line in DEBIAN_LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("=")
            pins[name] = version
    return pins


def write_debian_lock() -> dict[str, str]:
    """Pin the run-time closure of DEBIAN_ROOTS at the versions apt offers now."""
    closure = dependency_closure(DEBIAN_ROOTS)
    versions = candidate_versions(closure)
    header = ("# Debian packages of the runner's image (cluster/localplane/runner_image.py): the run-time closure\n"
              f"# of {' '.join(DEBIAN_ROOTS)}, pinned. Refresh after `apt-get update`: python3 cluster/image.py lock\n")
    DEBIAN_LOCK.write_text(header + "".join(f"{p}={versions[p]}\n" for p in closure))
    return {p: versions[p] for p in closure}


# ---------------------------------------------------------------------------------------- inputs


def _tree_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(f"{path.relative_to(REPO)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _pip_version() -> str:
    return str(pip.__version__)


def image_key() -> str:
    inputs = [RECIPE_VERSION, image_config(), DEBIAN_LOCK.read_text(), (REPO / "requirements.lock").read_text(),
              _tree_digest([REPO / name for name in WHEEL_SOURCES]), _pip_version()]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------- the root filesystem


def _pip(*args: str | Path, cwd: Path | None = None) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip {' '.join(map(str, args))} failed:\n{proc.stderr.strip()[-2000:]}")


def _python_version(pins: dict[str, str]) -> str:
    """'3.11' from the pinned python3 package (3.11.2-1+b1)."""
    return ".".join(pins["python3"].split(".")[:2])


def _wheels(cache: Path, pins: dict[str, str], scratch: Path) -> tuple[Path, Path]:
    """(the locked dependencies' wheels, cached per lock; the project's wheel, built in `scratch`)."""
    lock = REPO / "requirements.lock"
    deps = cache / "wheels" / hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    if not (deps / ".complete").exists():
        deps.mkdir(parents=True, exist_ok=True)
        _pip("download", "--quiet", "--require-hashes", "--only-binary=:all:", "--no-deps",
             "--python-version", _python_version(pins), "--dest", deps, "-r", lock)
        (deps / ".complete").touch()
    project = scratch / "project"
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", project, REPO)
    return deps, project


def _passwd(root: Path) -> None:
    etc = root / "etc"
    (etc / "passwd").write_text("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                                f"{USER_NAME}:x:{USER_ID}:{USER_ID}:tekton-runner:{DATA_DIR}:/usr/sbin/nologin\n")
    (etc / "group").write_text(f"root:x:0:\nnogroup:x:65534:\n{USER_NAME}:x:{USER_ID}:\n")
    for d in ("root", "tmp", "var/tmp", DATA_DIR.lstrip("/")):
        (root / d).mkdir(parents=True, exist_ok=True)
    for d in ("tmp", "var/tmp"):
        (root / d).chmod(0o1777)
    (root / DATA_DIR.lstrip("/")).chmod(0o750)


def _ca_bundle(root: Path) -> None:
    """What update-ca-certificates (a maintainer script, not run by dpkg -x) makes: one PEM bundle."""
    certs = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    bundle = root / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(c.read_text() for c in certs))


def _dpkg_status(root: Path, debs: list[Path]) -> None:
    """/var/lib/dpkg/status naming every unpacked package, so image scanners see the versions."""
    entries = []
    for deb in debs:
        control = run("dpkg-deb", "--field", deb).rstrip("\n")
        entries.append(control.replace("\n", "\nStatus: install ok installed\n", 1))
    status = root / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n\n".join(entries) + "\n")


def _chroot(root: Path, *argv: str, env: dict[str, str]) -> str:
    proc = subprocess.run(["chroot", str(root), *argv], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"in the image: {' '.join(argv)} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def _install(root: Path, deps: Path, project: Path) -> None:
    """The image's own python3 makes the virtualenv and installs the wheels (pip runs from a copy that is
    removed with the wheels), so every compiled file matches the image's interpreter."""
    build = root / "tmp" / "build"
    shutil.copytree(deps, build / "wheels", ignore=shutil.ignore_patterns(".complete"))
    shutil.copytree(project, build / "project")
    shutil.copytree(Path(pip.__file__).parent, build / "pip" / "pip")
    shutil.copy2(REPO / "requirements.lock", build / "requirements.lock")
    env = {"PATH": BASE_PATH, "LANG": "C.UTF-8", "HOME": "/root", "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
           "PYTHONPATH": "/tmp/build/pip", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
    _chroot(root, "/usr/bin/python3", "-m", "venv", "--without-pip", VENV, env=env)
    install = [f"{VENV}/bin/python", "-m", "pip", "install", "--quiet", "--no-index", "--only-binary=:all:"]
    _chroot(root, *install, "--find-links", "/tmp/build/wheels", "--require-hashes",
            "-r", "/tmp/build/requirements.lock", env=env)
    wheel = next((build / "project").glob("*.whl")).name
    _chroot(root, *install, "--no-deps", f"/tmp/build/project/{wheel}", env=env)
    shutil.rmtree(build)
    leftover = next(root.rglob("*.whl"), None)
    if leftover:
        raise RuntimeError(f"a wheel is left in the image: {leftover}")


def _fill(root: Path, scratch: Path, cache: Path) -> None:
    pins = read_debian_lock()
    debs = unpack_debs(sorted(pins), root, cache / "debs", versions=pins)
    _dpkg_status(root, debs)
    _ca_bundle(root)
    _passwd(root)
    deps, project = _wheels(cache, pins, scratch)
    _install(root, deps, project)


# ---------------------------------------------------------------------------------------- the OCI layout


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def write_layout(root: Path, layout: Path, config: dict[str, Any], reference: str) -> None:
    """An OCI image layout (oci-layout, index.json, blobs/sha256/) holding one image of `root`, tagged
    `reference` (org.opencontainers.image.ref.name), which skopeo or crane can copy to a registry."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    tmp = layout / "layer.tmp"
    diff_id, digest, size = write_layer(root, tmp, owners={DATA_DIR.lstrip("/"): USER_ID})
    tmp.rename(blobs / digest.removeprefix("sha256:"))
    image = {"architecture": "amd64", "os": "linux", "config": config,
             "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                "config": {"mediaType": MEDIA_CONFIG, **_blob(layout, json.dumps(image, sort_keys=True).encode())},
                "layers": [{"mediaType": MEDIA_LAYER, "digest": digest, "size": size}]}
    entry = {"mediaType": MEDIA_MANIFEST, **_blob(layout, json.dumps(manifest, sort_keys=True).encode()),
             "annotations": {"org.opencontainers.image.ref.name": reference}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}, sort_keys=True))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))


@dataclass(frozen=True)
class Built:
    layout: Path
    key: str
    seconds: float  # 0.0 when it came from the cache


def build(cache: Path | None = None) -> Built:
    """The image's layout, built when its inputs changed."""
    cache = (cache or Layout.from_env().cache) / "runner-image"
    key = image_key()
    out = cache / key
    if (out / "index.json").exists():
        return Built(out, key, 0.0)
    started = time.monotonic()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as tmp:
        scratch = Path(tmp)
        root = scratch / "rootfs"
        root.mkdir()
        _fill(root, scratch, cache)
        write_layout(root, scratch / "layout", image_config(), key)
        try:
            (scratch / "layout").rename(out)
        except OSError:  # built at the same time by another process: theirs is the same image
            if not (out / "index.json").exists():
                raise
    _prune(cache, keep=out)
    return Built(out, key, time.monotonic() - started)


def _prune(cache: Path, keep: Path, newest: int = 3) -> None:
    """Older builds go, except the `newest` few (another branch's sources may want one back)."""
    builds = sorted((d for d in cache.iterdir() if (d / "index.json").exists() and d != keep),
                    key=lambda d: d.stat().st_mtime, reverse=True)
    for old in builds[newest - 1:]:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------------- reading it back


def read_image(layout: Path) -> tuple[dict[str, Any], list[Path]]:
    """(the image config, its layer blobs in order) of the one image in `layout`."""
    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")

    (entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    manifest = json.loads(blob(entry["digest"]).read_text())
    config = json.loads(blob(manifest["config"]["digest"]).read_text())
    return config, [blob(layer["digest"]) for layer in manifest["layers"]]


def layer_names(layers: list[Path]) -> Iterator[str]:
    for layer in layers:
        with tarfile.open(layer) as tar:
            yield from tar.getnames()


def unpack(layout: Path, root: Path) -> dict[str, Any]:
    """The image's layers extracted into `root` (with their owners: run as root); returns its config."""
    config, layers = read_image(layout)
    root.chmod(0o755)  # a temporary directory is 0700: the image's user could not reach its own files
    for layer in layers:
        with tarfile.open(layer) as tar:
            tar.extractall(root, filter="fully_trusted")  # our own layer, owners and modes kept
    return config


def run_as_image(root: Path, config: dict[str, Any], args: list[str],
                 entrypoint: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The entrypoint (the image's unless given) with `args` in the unpacked image, as a container runtime
    would start it: chrooted, as the image's user, with the image's environment and working directory, in
    its own mount and PID namespaces."""
    spec = config["config"]
    env = dict(item.split("=", 1) for item in spec["Env"])
    user = spec["User"]
    command = [*(entrypoint or spec["Entrypoint"]), *args]
    return subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--kill-child", f"--root={root}", f"--wd={spec['WorkingDir']}",
         f"--setuid={user.split(':')[0]}", f"--setgid={user.split(':')[1]}", "--", *command],
        env=env, capture_output=True, text=True, timeout=120, check=False)
