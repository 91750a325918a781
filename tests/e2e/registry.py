"""Push a tiny OCI image to the local registry (Debian's docker-registry, the distribution API Harbor
serves) with the plain v2 HTTP API, the way a real build's push would leave it there."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import aiohttp

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(marker: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = f"built by the e2e test {marker}\n".encode()
        info = tarfile.TarInfo("app/BUILD")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


async def _upload_blob(session: aiohttp.ClientSession, base: str, repository: str, blob: bytes) -> str:
    digest = _digest(blob)
    async with session.post(f"{base}/v2/{repository}/blobs/uploads/") as resp:
        assert resp.status == 202, f"starting an upload: {resp.status} {await resp.text()}"
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = base + location
    separator = "&" if "?" in location else "?"
    async with session.put(f"{location}{separator}digest={digest}", data=blob,
                           headers={"Content-Type": "application/octet-stream"}) as resp:
        assert resp.status == 201, f"uploading {digest}: {resp.status} {await resp.text()}"
    return digest


async def push_image(registry_host: str, repository: str, tag: str) -> str:
    """Push a one-layer image to registry_host/repository:tag; return the manifest digest."""
    base = f"http://{registry_host}"
    layer = _layer(f"{repository}:{tag}")
    diff_id = _digest(gzip.decompress(layer))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    async with aiohttp.ClientSession() as session:
        config_digest = await _upload_blob(session, base, repository, config)
        layer_digest = await _upload_blob(session, base, repository, layer)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest, "size": len(layer)}],
        }).encode()
        async with session.put(f"{base}/v2/{repository}/manifests/{tag}", data=manifest,
                               headers={"Content-Type": OCI_MANIFEST}) as resp:
            assert resp.status == 201, f"pushing the manifest: {resp.status} {await resp.text()}"
            assert resp.headers.get("Docker-Content-Digest") == _digest(manifest)
    return _digest(manifest)
