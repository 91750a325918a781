"""The real node's images (cluster/localplane/oci.py) are written the same way every time: one
root-owned layer with fixed timestamps, an OCI config that names its diff_id, and a manifest whose
blobs are stored under their own digests, so a cache keyed by the inputs never pushes a new digest."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cluster"))
from localplane.oci import MEDIA_LAYER, MEDIA_MANIFEST, write_image  # noqa: E402


def rootfs(base: Path) -> Path:
    root = base / "rootfs"
    (root / "bin").mkdir(parents=True)
    tool = root / "bin" / "tool"
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    (root / "bin" / "alias").symlink_to("/bin/tool")
    return root


def blob(directory: Path, digest: str) -> bytes:
    data = (directory / digest.replace(":", "-")).read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def test_same_rootfs_gives_the_same_manifest(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_image(rootfs(first), first / "image", {"Cmd": ["tool"]})
    later = rootfs(second)
    os.utime(later / "bin" / "tool", (1_000_000_000, 1_000_000_000))  # another mtime: the same layer
    write_image(later, second / "image", {"Cmd": ["tool"]})

    assert (first / "image" / "manifest.json").read_bytes() == (second / "image" / "manifest.json").read_bytes()


def test_layer_is_root_owned_and_the_config_names_its_diff_id(tmp_path: Path) -> None:
    image = tmp_path / "image"
    write_image(rootfs(tmp_path), image, {"Entrypoint": ["/bin/tool"]})

    manifest = json.loads((image / "manifest.json").read_text())
    assert manifest["mediaType"] == MEDIA_MANIFEST
    [layer] = manifest["layers"]
    assert layer["mediaType"] == MEDIA_LAYER
    raw = gzip.decompress(blob(image, layer["digest"]))
    config = json.loads(blob(image, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(raw).hexdigest()]
    assert config["config"] == {"Entrypoint": ["/bin/tool"]}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["bin", "bin/alias", "bin/tool"]
    assert {(m.uid, m.gid, m.mtime) for m in members.values()} == {(0, 0, 0)}
    assert members["bin/tool"].mode & 0o777 == 0o755
    assert members["bin/alias"].issym() and members["bin/alias"].linkname == "/bin/tool"
