"""Certificates and the admin kubeconfig, made with the openssl command line.

One CA signs the API server's serving certificate and one client certificate in group
system:masters that every component (controllers, kwok, Tekton, the tests) uses.
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


def _signed(pki: Path, name: str, subject: str, extensions: str) -> None:
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=pki)
    (pki / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "3650", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=pki)


def make_pki(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "3650", "-sha256", "-subj", "/CN=tekton-runner-local-ca", cwd=pki)
    _signed(pki, "apiserver", "/CN=kube-apiserver",
            f"subjectAltName={','.join(SERVING_NAMES)}\nextendedKeyUsage=serverAuth\n"
            "keyUsage=digitalSignature,keyEncipherment\n")
    _signed(pki, "admin", "/O=system:masters/CN=tekton-runner-admin",
            "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    interceptors = "tekton-triggers-core-interceptors"
    names = ["IP:127.0.0.1", "DNS:localhost", f"DNS:{interceptors}", f"DNS:{interceptors}.tekton-pipelines",
             f"DNS:{interceptors}.tekton-pipelines.svc", f"DNS:{interceptors}.tekton-pipelines.svc.cluster.local"]
    _signed(pki, "interceptors", f"/CN={interceptors}",
            f"subjectAltName={','.join(names)}\nextendedKeyUsage=serverAuth\n"
            "keyUsage=digitalSignature,keyEncipherment\n")
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def write_kubeconfig(path: Path, pki: Path, server: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {
            "server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": "admin", "user": {
            "client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
