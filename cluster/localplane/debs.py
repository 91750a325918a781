"""Debian packages for images: the versions apt would install, the run-time dependency closure of a
package, and unpacking .deb files into a root filesystem (no maintainer scripts). Used by images.py."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from pathlib import Path

# Packages a dependency walk stops at: they only serve maintainer scripts or the init system,
# which an image does not run.
NOT_IN_IMAGES = frozenset({
    "adduser", "cdebconf", "debconf", "dpkg", "init-system-helpers", "install-info", "lsb-base", "passwd",
    "perl", "perl-base", "postgresql-common", "postgresql-client-common", "ssl-cert", "sysvinit-utils",
    "usr-is-merged", "usrmerge", "tar", "libpam-modules", "libpam-modules-bin", "locales",
    "locales-all", "logrotate", "procps", "ucf", "lsb-release", "libelogind0",
})


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def apt_index_stamp() -> str:
    """Changes whenever `apt-get update` brings a new package index (names, sizes, times of the lists)."""
    digest = hashlib.sha256()
    for f in sorted(Path("/var/lib/apt/lists").glob("*_Packages*")):
        st = f.stat()
        digest.update(f"{f.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def candidate_versions(packages: Iterable[str]) -> dict[str, str]:
    """Package -> the version apt would install (the image's input)."""
    out = run("apt-cache", "policy", *sorted(set(packages)))
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
        out = run("apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
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


def unpack_debs(packages: list[str], root: Path, downloads: Path,
                versions: dict[str, str] | None = None) -> list[Path]:
    """Download `packages` at `versions` (default: apt's candidates) into `downloads`, reusing .deb files
    already there, and unpack each into `root`; returns the .deb files in the order of `packages`."""
    downloads.mkdir(parents=True, exist_ok=True)
    pinned = versions or candidate_versions(packages)

    def downloaded(pkg: str) -> Path | None:
        # apt-get download names files <name>_<version with ':' as %3a>_<arch>.deb
        quoted = pinned[pkg].replace(":", "%3a")
        return next(iter(sorted(downloads.glob(f"{pkg}_{quoted}_*.deb"))), None)

    missing = [f"{pkg}={pinned[pkg]}" for pkg in packages if downloaded(pkg) is None]
    if missing:
        run("apt-get", "download", "-qq", *missing, cwd=downloads)
    debs = []
    for pkg in packages:
        deb = downloaded(pkg)
        if deb is None:
            raise RuntimeError(f"apt-get download left no .deb for {pkg} {pinned[pkg]} in {downloads}")
        run("dpkg-deb", "-x", deb, root)
        debs.append(deb)
    return debs
