"""Images a build on the real node runs: Tekton's own step helpers, a fetch image, a Kaniko executor and
a Python base image for sample apps. Built and cached like the node's images (images.py), from inputs
built here: Go binaries from build.sh (cached by stamp) and Debian packages.

Images:
- tekton-entrypoint, tekton-nop, tekton-workingdirinit, tekton-sidecarlogresults: the binaries of the
  pipeline module's cmd/ at /ko-app/<name>, where the Tekton controller calls them (pod.go,
  workingdir_init.go), as its release images built by ko have them. The shell image its script steps need
  is the node's busybox image.
- fetch: busybox (realpath, mktemp) with Debian's dash as sh, git, unzip and wget and the host's CA bundle, for
  the build Task's fetch step.
- kaniko: /kaniko/executor from github.com/GoogleContainerTools/kaniko in the layout of upstream's
  `-debug` image (deploy/Dockerfile): CA bundle in /kaniko/ssl/certs, busybox in /busybox (a volume,
  so Kaniko leaves it out of the images it builds), /kaniko/.docker for the registry credentials.
- python: busybox with Debian's python3 and its PostgreSQL driver (python3-psycopg2), the base of sample
  apps' Dockerfiles.

`node up` pushes the Tekton images and points the plane's Tekton controller at them (Plane.use_tekton_images);
the others are pushed when asked for (`ctl.py images fetch kaniko python`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from .config import CLUSTER_DIR, Layout
from .images import RECIPES as NODE_RECIPES
from .images import Recipe, _busybox_files, _busybox_inputs, _debian_fill, _debian_inputs

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Tekton controller flag -> the image it names; shell-image-win stays a placeholder (no Windows node).
TEKTON_IMAGES = {"entrypoint": "tekton-entrypoint", "nop": "tekton-nop", "workingdirinit": "tekton-workingdirinit",
                 "sidecarlogresults": "tekton-sidecarlogresults", "shell": "busybox"}


def _binary(component: str, relative: str) -> Path:
    """A binary from build.sh, built first when missing or out of date (a warm build.sh is a no-op, kept
    quiet; a build that has to run shows its progress)."""
    path = Layout.from_env().bin / relative
    proc = subprocess.run(["bash", str(CLUSTER_DIR / "build.sh"), component], capture_output=path.is_file(),
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"build.sh {component} failed:\n{proc.stderr or ''}")
    if not path.is_file():
        raise RuntimeError(f"build.sh {component} did not produce {path}")
    return path


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


def _go_binary_inputs(component: str, relative: str) -> Callable[[Path], list[str]]:
    return lambda _cache: [component, relative, _file_hash(_binary(component, relative))]


def _copy_executable(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(0o755)


def _tekton_recipe(cmd: str) -> Recipe:
    relative = f"tekton-images/{cmd}"

    def fill(root: Path, _scratch: Path) -> None:
        _copy_executable(_binary("tektonimages", relative), root / "ko-app" / cmd)

    return Recipe(f"tekton-{cmd}", _go_binary_inputs("tektonimages", relative), fill,
                  {"Entrypoint": [f"/ko-app/{cmd}"], "Env": [PATH]})


def _with_ca(inputs: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    return lambda cache: [*inputs(cache), _file_hash(CA_BUNDLE)]


def _ca_bundle(root: Path) -> None:
    (root / "etc" / "ssl" / "certs").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CA_BUNDLE, root / "etc" / "ssl" / "certs" / "ca-certificates.crt")


def _fetch_extra(root: Path) -> None:
    (root / "bin" / "sh").unlink()
    (root / "bin" / "sh").symlink_to("dash")
    _ca_bundle(root)


# GNU wget instead of busybox's applet: Debian's busybox-static 1.35 wget dies of SIGSEGV when given a
# timeout (`-T`), which the build Task's fetch step passes for zip and local sources. busybox's sh runs
# its own applets before anything on PATH, so the image's /bin/sh is Debian's dash.
FETCH_PACKAGES = ["dash", "git", "unzip", "wget"]
# Python with a PostgreSQL driver: sample apps talk to the run's postgres through DATABASE_URL.
PYTHON_PACKAGES = ["python3", "python3-psycopg2"]
KANIKO_NSSWITCH = "hosts: files dns\n"  # upstream's files/nsswitch.conf: /etc/hosts before DNS


def _kaniko_inputs(cache: Path) -> list[str]:
    return [*_go_binary_inputs("kaniko", "kaniko/executor")(cache), *_busybox_inputs(cache), _file_hash(CA_BUNDLE)]


def _kaniko_fill(root: Path, scratch: Path) -> None:
    _copy_executable(_binary("kaniko", "kaniko/executor"), root / "kaniko" / "executor")
    (root / "kaniko" / "ssl" / "certs").mkdir(parents=True)
    shutil.copyfile(CA_BUNDLE, root / "kaniko" / "ssl" / "certs" / "ca-certificates.crt")
    (root / "kaniko" / ".docker").mkdir()
    (root / "kaniko").chmod(0o777)
    (root / "etc").mkdir()
    (root / "etc" / "nsswitch.conf").write_text(KANIKO_NSSWITCH)
    # busybox under /busybox, as upstream's debug image has it (the Task's script runs #!/busybox/sh)
    staged = scratch / "busybox-root"
    _busybox_files(staged)
    (root / "busybox").mkdir()
    shutil.copy2(staged / "bin" / "busybox", root / "busybox" / "busybox")
    for applet in sorted({p.name for d in ("bin", "sbin", "usr/bin", "usr/sbin") for p in (staged / d).iterdir()
                          if p.is_symlink()}):
        (root / "busybox" / applet).symlink_to("busybox")
    (root / "bin").mkdir()
    (root / "bin" / "sh").symlink_to("/busybox/sh")
    for d in ("root", "workspace"):
        (root / d).mkdir()


# Buildah for the Buildah variant of the build Task: Debian's package and bash (the Task's script), storage
# on vfs and RUN steps isolated by chroot, as Buildah runs inside a pod without a nested runtime.
BUILDAH_PACKAGES = ["bash", "buildah"]
BUILDAH_POLICY = '{"default": [{"type": "insecureAcceptAnything"}]}\n'  # signatures are not checked here
BUILDAH_STORAGE = ('[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\n'
                   'graphroot = "/var/lib/containers/storage"\n')


def _buildah_inputs(cache: Path) -> list[str]:
    """The packages, the CA bundle and what _buildah_extra writes: a change to any is a new image."""
    written = hashlib.sha256(f"{BUILDAH_POLICY}{BUILDAH_STORAGE}".encode()).hexdigest()
    return [*_with_ca(_debian_inputs(BUILDAH_PACKAGES))(cache), written]


def _buildah_extra(root: Path) -> None:
    containers = root / "etc" / "containers"
    containers.mkdir(parents=True, exist_ok=True)
    if not (containers / "policy.json").exists():
        (containers / "policy.json").write_text(BUILDAH_POLICY)
    (containers / "storage.conf").write_text(BUILDAH_STORAGE)
    (root / "var" / "lib" / "containers").mkdir(parents=True, exist_ok=True)
    _ca_bundle(root)


RECIPES: dict[str, Recipe] = {
    **{r.name: r for r in map(_tekton_recipe, ("entrypoint", "nop", "workingdirinit", "sidecarlogresults"))},
    "fetch": Recipe("fetch", _with_ca(_debian_inputs(FETCH_PACKAGES)),
                    _debian_fill(FETCH_PACKAGES, _fetch_extra), {"Cmd": ["sh"], "Env": [PATH]}),
    "buildah": Recipe("buildah", _buildah_inputs,
                      _debian_fill(BUILDAH_PACKAGES, _buildah_extra),
                      {"Cmd": ["bash"], "Env": [PATH, "BUILDAH_ISOLATION=chroot", "STORAGE_DRIVER=vfs"]}),
    "python": Recipe("python", _debian_inputs(PYTHON_PACKAGES), _debian_fill(PYTHON_PACKAGES),
                     {"Cmd": ["python3"], "Env": [PATH, "PYTHONUNBUFFERED=1"]}),
    "kaniko": Recipe("kaniko", _kaniko_inputs, _kaniko_fill, {
        "Entrypoint": ["/kaniko/executor"], "WorkingDir": "/workspace", "Volumes": {"/busybox": {}},
        "Env": ["HOME=/root", "USER=root", "PATH=/usr/local/bin:/kaniko:/busybox", "SSL_CERT_DIR=/kaniko/ssl/certs",
                "DOCKER_CONFIG=/kaniko/.docker/"]}),
}

ALL_RECIPES: dict[str, Recipe] = {**NODE_RECIPES, **RECIPES}
