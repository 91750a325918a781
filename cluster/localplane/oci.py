"""One-layer OCI images written by Python: a reproducible layer (sorted entries, owner root, mtime 0,
gzip without a timestamp), its config and manifest, each blob stored under its digest. Used by images.py."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _normaliser(owners: dict[str, int]) -> Callable[[tarfile.TarInfo], tarfile.TarInfo]:
    """Every entry owned by root, except the paths in `owners` (path in the layer -> uid, gid the same)."""
    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = owners.get(info.name, 0)
        info.uname = info.gname = "root" if info.uid == 0 else ""
        info.mtime = 0
        return info
    return normalise


def write_layer(root: Path, out: Path, owners: dict[str, int] | None = None) -> tuple[str, str, int]:
    """gzip'd tar of `root` at `out`; returns (diff_id, digest, size)."""
    raw = io.BytesIO()
    normalise = _normaliser(owners or {})
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = Path(dirpath) / name
                arcname = str(path.relative_to(root))
                tar.add(path, arcname=arcname, recursive=False, filter=normalise)
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
