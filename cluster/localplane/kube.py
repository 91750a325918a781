"""Talking to the local API server: kubectl for applying manifests, plain HTTPS for probes."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class Kube:
    def __init__(self, kubectl: Path, kubeconfig: Path, server: str, pki: Path) -> None:
        self.kubectl_bin = kubectl
        self.kubeconfig = kubeconfig
        self.server = server
        self.pki = pki

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            [str(self.kubectl_bin), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin, capture_output=True, text=True,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed:\n{proc.stderr.strip()}")
        return proc.stdout

    def apply_docs(self, docs: Iterable[dict[str, Any]], server_side: bool = False) -> None:
        # JSON is valid input for kubectl and far quicker to produce than YAML for the big CRDs
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})
        args = ["apply", "-f", "-"]
        if server_side:
            args += ["--server-side", "--force-conflicts", "--field-manager=tekton-runner-local"]
        self.kubectl(*args, stdin=text)

    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return ctx

    def ssl_ca_only(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki / "ca.crt"))

    def get_raw(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        req = urllib.request.Request(self.server + path)
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def get(self, path: str) -> dict[str, Any] | None:
        status, body = self.get_raw(path)
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
        result: dict[str, Any] = json.loads(body)
        return result

    def ready(self) -> bool:
        return self.get_raw("/readyz")[0] == 200


def http_ok(url: str, timeout: float = 2.0, ctx: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            status: int = resp.status
            return 200 <= status < 300
    except urllib.error.HTTPError as err:
        return 200 <= err.code < 300
    except (urllib.error.URLError, OSError):
        return False


def insecure_ssl() -> ssl.SSLContext:
    """For the self-signed healthz endpoints of kube-controller-manager and kube-scheduler."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
