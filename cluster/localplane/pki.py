"""Certificates and kubeconfigs, made with the openssl command line.

One CA signs the API server's serving certificate, one client certificate in group system:masters
that every component (controllers, kwok, Tekton, the tests) uses, and the API server's client
certificate for kubelets (logs, exec). The real node's credentials (node.py) and the registry's serving
certificate for its host name (harbor.py) are signed by the same CA.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

SERVING_NAMES = [
    "IP:127.0.0.1", "IP:10.96.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local",
]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


CLIENT_EXTENSIONS = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
KUBELET_CLIENT = "apiserver-kubelet-client"


def server_extensions(names: list[str]) -> str:
    """openssl extensions of a serving certificate for `names` (e.g. DNS:host, IP:127.0.0.1)."""
    return (f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n"
            "keyUsage=digitalSignature,keyEncipherment\n")


def _signed(pki: Path, name: str, subject: str, extensions: str, ca_dir: Path | None = None) -> None:
    """`name`.key/.crt in `pki`, signed by the CA in `ca_dir` (default: `pki`)."""
    ca = ca_dir or pki
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=pki)
    (pki / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca / "ca.crt"), "-CAkey", str(ca / "ca.key"),
             "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
             cwd=pki)


def sign_client(pki: Path, name: str, subject: str, ca_dir: Path) -> None:
    """A client certificate `name` in `pki` for `subject` (e.g. /O=system:nodes/CN=system:node:X)."""
    pki.mkdir(parents=True, exist_ok=True)
    _signed(pki, name, subject, CLIENT_EXTENSIONS, ca_dir=ca_dir)


def sign_server(pki: Path, name: str, names: list[str], ca_dir: Path) -> None:
    """A serving certificate `name` in `pki` for `names`, signed by the CA in `ca_dir`."""
    pki.mkdir(parents=True, exist_ok=True)
    _signed(pki, name, f"/CN={names[0].split(':', 1)[1]}", server_extensions(names), ca_dir=ca_dir)


def sign_kubelet_client(pki: Path) -> None:
    """The API server's identity towards kubelets: system:masters, so a kubelet's webhook allows it."""
    _signed(pki, KUBELET_CLIENT, "/O=system:masters/CN=kube-apiserver-kubelet-client", CLIENT_EXTENSIONS)


def make_pki(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "3650", "-sha256", "-subj", "/CN=tekton-runner-local-ca", cwd=pki)
    _signed(pki, "apiserver", "/CN=kube-apiserver", server_extensions(SERVING_NAMES))
    _signed(pki, "admin", "/O=system:masters/CN=tekton-runner-admin", CLIENT_EXTENSIONS)
    sign_kubelet_client(pki)
    interceptors = "tekton-triggers-core-interceptors"
    names = ["IP:127.0.0.1", "DNS:localhost", f"DNS:{interceptors}", f"DNS:{interceptors}.tekton-pipelines",
             f"DNS:{interceptors}.tekton-pipelines.svc", f"DNS:{interceptors}.tekton-pipelines.svc.cluster.local"]
    _signed(pki, "interceptors", f"/CN={interceptors}", server_extensions(names))
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def write_kubeconfig(path: Path, pki: Path, server: str, user: str = "admin", ca: Path | None = None) -> None:
    """A kubeconfig for the client certificate `user`.crt/.key in `pki`."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {
            "server": server, "certificate-authority": str(ca or pki / "ca.crt")}}],
        "users": [{"name": "admin", "user": {
            "client-certificate": str(pki / f"{user}.crt"), "client-key": str(pki / f"{user}.key")}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
