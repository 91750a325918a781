"""Bring the whole local control plane up, check it, and take it down again.

Order: etcd -> kube-apiserver -> kube-controller-manager + kube-scheduler -> kwok and its fake node ->
Tekton CRDs/ConfigMaps -> Tekton controller + events controller -> Triggers CRDs + triggers/ ->
EventListener sink; the registry starts early beside them. Every process is started detached and
tracked by a PID file under $STATE/pids, so `down` works from any later shell.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import pki as pki_mod
from . import tekton
from .config import (
    CLUSTER_DIR,
    FAKE_IMAGE_PREFIX,
    NODE_NAME,
    REPO_DIR,
    TEKTON_IMAGE_FLAGS,
    TEKTON_NAMESPACE,
    Layout,
    read_versions,
)
from .kube import Kube, http_ok, insecure_ssl
from .procs import Processes, Timeout, tail, wait_for

DEFAULT_EVENTS_SINK = "http://127.0.0.1:8088/cloudevents"  # the runner's default port
KUBE_MIN_VERSION = "v1.28.0"


def kubelet_client_flags(pk: Path) -> list[str]:
    """How the API server reaches a real node's kubelet (logs, exec): our CA's client certificate, and
    the node's InternalIP first (a host name need not resolve)."""
    return [
        f"--kubelet-client-certificate={pk / (pki_mod.KUBELET_CLIENT + '.crt')}",
        f"--kubelet-client-key={pk / (pki_mod.KUBELET_CLIENT + '.key')}",
        "--kubelet-preferred-address-types=InternalIP,Hostname,ExternalIP",
    ]


def say(msg: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Plane:
    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout.from_env()
        self.versions = read_versions()
        self.procs = Processes(self.layout.pids, self.layout.logs)
        self.kube = Kube(self.layout.binary("kubectl"), self.layout.kubeconfig,
                         self.layout.apiserver_url, self.layout.pki)
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ helpers

    def _timed(self, phase: str, fn: Callable[[], None]) -> None:
        start = time.monotonic()
        fn()
        self.timings[phase] = round(time.monotonic() - start, 2)
        say(f"{phase}: {self.timings[phase]}s")

    def _wait(self, what: str, check: Callable[[], bool], timeout: float, log: str | None = None) -> None:
        def hint() -> str:
            parts = []
            if log is not None:
                if not self.procs.alive(log):
                    parts.append(f"{log} is not running")
                parts.append(tail(self.procs.log_path(log)))
            return "\n".join(parts)
        wait_for(what, check, timeout, hint=hint)

    def _start(self, name: str, argv: list[Any], env: dict[str, str] | None = None) -> None:
        self.procs.start(name, argv, env=env, cwd=self.layout.state)

    # ------------------------------------------------------------------ status

    COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "registry", "kwok",
                  "tekton-controller", "tekton-events", "triggers-interceptors", "eventlistener")

    def is_up(self) -> bool:
        if not self.layout.env_file.exists():
            return False
        if not all(self.procs.alive(c) for c in self.COMPONENTS):
            return False
        try:
            return self.kube.ready()
        except OSError:
            return False

    def status(self) -> dict[str, bool]:
        return {c: self.procs.alive(c) for c in self.COMPONENTS}

    # ------------------------------------------------------------------ up

    def up(self, events_sink: str | None = None, selfcheck: bool = True) -> None:
        if self.is_up():
            say(f"already up ({self.layout.state}); env in {self.layout.env_file}")
            if events_sink:
                self.set_events_sink(events_sink)
                self._write_env(events_sink)
            return
        if self.procs.tracked():
            say("found a partly running plane; stopping it first")
            self.down()
        total = time.monotonic()
        try:
            self._up_steps(selfcheck)
        except BaseException:
            say(f"start-up failed; stopping what was started (logs stay in {self.layout.logs})")
            self.procs.stop_all()
            raise
        sink = events_sink or os.environ.get("TEKTON_RUNNER_EVENTS_SINK", DEFAULT_EVENTS_SINK)
        self.set_events_sink(sink)
        self._write_env(sink)
        self.timings["total"] = round(time.monotonic() - total, 2)
        self.layout.timings_file.write_text(json.dumps(self.timings, indent=2) + "\n")
        say(f"up in {self.timings['total']}s; env: {self.layout.env_file}")

    def _up_steps(self, selfcheck: bool) -> None:
        self._timed("prerequisites", self._prerequisites)
        self._timed("build", self._build)
        self._timed("state+pki", self._fresh_state)
        self._timed("etcd", self._start_etcd)
        self._start_registry()
        self._timed("kube-apiserver", self._start_apiserver)
        self._timed("controllers+kwok", self._start_controllers_and_kwok)
        self._timed("tekton+triggers APIs", self._install_apis)
        self._timed("tekton+triggers processes", self._start_tekton_and_triggers)
        self._timed("readiness", self._wait_ready)
        if selfcheck:
            self._timed("selfcheck", self._selfcheck)

    def _prerequisites(self) -> None:
        missing = [pkg for cmd, pkg in (("openssl", "openssl"), ("docker-registry", "docker-registry"))
                   if shutil.which(cmd) is None]
        if missing:
            if os.geteuid() != 0:
                raise RuntimeError(f"missing commands; install the Debian packages: {' '.join(missing)}")
            say(f"installing {' '.join(missing)} with apt-get")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
        if shutil.which("go") is None:
            raise RuntimeError("go is not installed; the control plane is built from Go modules")

    def _build(self) -> None:
        subprocess.run(["bash", str(CLUSTER_DIR / "build.sh")], check=True)

    def _fresh_state(self) -> None:
        state = self.layout.state
        if state.exists():
            shutil.rmtree(state)
        for d in (state, self.layout.logs, self.layout.pids):
            d.mkdir(parents=True, exist_ok=True)
        pki_mod.make_pki(self.layout.pki)
        pki_mod.write_kubeconfig(self.layout.kubeconfig, self.layout.pki, self.layout.apiserver_url)

    def _start_etcd(self) -> None:
        p = self.layout.ports
        client, peer = f"http://127.0.0.1:{p.etcd_client}", f"http://127.0.0.1:{p.etcd_peer}"
        self._start("etcd", [
            self.layout.binary("etcd"), "--name=local", f"--data-dir={self.layout.state / 'etcd'}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}", "--unsafe-no-fsync=true", "--log-level=warn",
        ])
        self._wait("etcd /health", lambda: http_ok(f"{client}/health"), 30, log="etcd")

    def _start_registry(self) -> None:
        reg = self.layout.state / "registry"
        self.layout.registry_data.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "warn", "fields": {"service": "registry"}},
            "storage": {"filesystem": {"rootdirectory": str(self.layout.registry_data)}, "delete": {"enabled": True}},
            "http": {"addr": self.layout.registry_host, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        (reg / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        registry = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        self._start("registry", [registry, "serve", reg / "config.yml"])

    def _start_apiserver(self) -> None:
        pk, p = self.layout.pki, self.layout.ports
        self._start("kube-apiserver", [
            self.layout.binary("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{p.etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={p.apiserver}",
            f"--tls-cert-file={pk / 'apiserver.crt'}", f"--tls-private-key-file={pk / 'apiserver.key'}",
            f"--client-ca-file={pk / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pk / 'sa.pub'}",
            f"--service-account-signing-key-file={pk / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/16", "--authorization-mode=Node,RBAC",
            "--allow-privileged=true", "--endpoint-reconciler-type=none",
            f"--cert-dir={self.layout.state / 'apiserver-certs'}", "--profiling=false",
            # only so that components reading extension-apiserver-authentication find a CA there
            f"--requestheader-client-ca-file={pk / 'ca.crt'}", "--requestheader-allowed-names=front-proxy",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            *kubelet_client_flags(pk),
        ])
        self._wait("kube-apiserver /readyz", self.kube.ready, 90, log="kube-apiserver")

    def _start_controllers_and_kwok(self) -> None:
        pk, p, kc = self.layout.pki, self.layout.ports, str(self.layout.kubeconfig)
        self._start("kube-controller-manager", [
            self.layout.binary("kube-controller-manager"), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1", f"--secure-port={p.controller_manager}", "--leader-elect=false",
            "--controllers=*", "--use-service-account-credentials=false",
            f"--service-account-private-key-file={pk / 'sa.key'}", f"--root-ca-file={pk / 'ca.crt'}",
            f"--cluster-signing-cert-file={pk / 'ca.crt'}", f"--cluster-signing-key-file={pk / 'ca.key'}",
            f"--cert-dir={self.layout.state / 'kcm-certs'}", "--profiling=false",
        ])
        self._start("kube-scheduler", [
            self.layout.binary("kube-scheduler"), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1", f"--secure-port={p.scheduler}", "--leader-elect=false",
            f"--cert-dir={self.layout.state / 'scheduler-certs'}", "--profiling=false",
        ])
        self._start_kwok()

    def _kwok_config(self) -> Path:
        kwok_dir = tekton.module_dir("sigs.k8s.io/kwok", self.versions["KWOK_VERSION"])
        stages = kwok_dir / "kustomize" / "stage"
        upstream = [
            stages / "node" / "fast" / "node-initialize.yaml",
            stages / "node" / "heartbeat-with-lease" / "node-heartbeat-with-lease.yaml",
            stages / "pod" / "fast" / "pod-ready.yaml",
            stages / "pod" / "fast" / "pod-delete.yaml",
        ]
        parts = [f.read_text() for f in upstream] + [(CLUSTER_DIR / "kwok-stages.yaml").read_text()]
        path = self.layout.state / "kwok.yaml"
        path.write_text("\n---\n".join(parts))
        return path

    def _start_kwok(self) -> None:
        config = self._kwok_config()
        self._start("kwok", [
            self.layout.binary("kwok"), f"--kubeconfig={self.layout.kubeconfig}", f"--config={config}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16", "--node-ip=10.1.0.1",
            f"--server-address=127.0.0.1:{self.layout.ports.kwok}",
        ])
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "type": "kwok"},
            },
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250"},
                       "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"}},
        }
        self.kube.apply_docs([node])

    def _tekton_env(self, leader_cm: str, probes: int, profiling: int, metrics: int) -> dict[str, str]:
        return {
            "SYSTEM_NAMESPACE": TEKTON_NAMESPACE, "KUBERNETES_MIN_VERSION": KUBE_MIN_VERSION,
            "CONFIG_LEADERELECTION_NAME": leader_cm, "METRICS_DOMAIN": "tekton.dev/pipeline",
            "PROBES_PORT": str(probes), "PROFILING_PORT": str(profiling),
            "METRICS_PROMETHEUS_HOST": "127.0.0.1", "METRICS_PROMETHEUS_PORT": str(metrics),
            "KUBECONFIG": str(self.layout.kubeconfig),
        }

    def _install_apis(self) -> None:
        """Tekton and Triggers CRDs, ConfigMaps and the core ClusterInterceptors, in as few calls as may be."""
        pipeline_dir = tekton.module_dir("github.com/tektoncd/pipeline",
                                         self.versions["TEKTON_PIPELINE_VERSION"])
        triggers_dir = tekton.module_dir("github.com/tektoncd/triggers",
                                         self.versions["TEKTON_TRIGGERS_VERSION"])
        self.kube.apply_docs(tekton.pipeline_namespaces(pipeline_dir))
        # The biggest CRDs exceed the client-side apply annotation limit: apply them server-side.
        crds = tekton.pipeline_crds(pipeline_dir) + tekton.triggers_crds(triggers_dir)
        self.kube.apply_docs(crds, server_side=True)
        names = [f"crd/{c['metadata']['name']}" for c in crds]
        self.kube.kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
        ca = (self.layout.pki / "ca.crt").read_text()
        self.kube.apply_docs([
            *tekton.config_maps(pipeline_dir), *tekton.config_maps(triggers_dir),
            tekton.interceptors_secret(self.layout.pki), *tekton.core_interceptors(triggers_dir, ca),
        ])

    @staticmethod
    def tekton_image_flags(images: Mapping[str, str] | None = None) -> list[str]:
        """The controller's six image flags: placeholders nothing pulls (kwok plays the kubelet), except
        those named in `images` (a key of TEKTON_IMAGE_FLAGS -> reference), which the real node sets."""
        refs = {name: f"{FAKE_IMAGE_PREFIX}/{name}:v1" for name in TEKTON_IMAGE_FLAGS}
        refs.update(images or {})
        return [f"{TEKTON_IMAGE_FLAGS[name]}={ref}" for name, ref in refs.items()]

    def use_tekton_images(self, images: Mapping[str, str] | None) -> None:
        """Restart the Tekton controller with these step images (None: the placeholders again), unless
        it already runs with them."""
        flags = self.tekton_image_flags(images)
        if not self.procs.alive("tekton-controller") or all(
                f in self.procs.argv("tekton-controller") for f in flags):
            return
        image_flags = set(TEKTON_IMAGE_FLAGS.values())
        self.procs.restart("tekton-controller", flags, drop=lambda arg: arg.split("=", 1)[0] in image_flags)
        probes = self.layout.ports.tekton_probes
        self._wait("tekton-controller probes", lambda: http_ok(f"http://127.0.0.1:{probes}/health"), 60,
                   log="tekton-controller")

    def _start_tekton_and_triggers(self) -> None:
        p = self.layout.ports
        self._start("tekton-controller", [
            self.layout.binary("tekton-controller"), f"--kubeconfig={self.layout.kubeconfig}", "-disable-ha",
            *self.tekton_image_flags(),
        ], env=self._tekton_env("config-leader-election-controller", p.tekton_probes, p.tekton_profiling,
                                p.tekton_metrics))
        self._start("tekton-events", [
            self.layout.binary("tekton-events"), f"--kubeconfig={self.layout.kubeconfig}", "-disable-ha",
        ], env=self._tekton_env("config-leader-election-events", p.events_probes, p.events_profiling,
                                p.events_metrics))
        # Triggers' core interceptors serve with our certificate through their Secret; the
        # ClusterInterceptors already carry our CA, which the EventListener sink insists on at start.
        self._start("triggers-interceptors", [
            self.layout.binary("triggers-interceptors"), f"--kubeconfig={self.layout.kubeconfig}",
        ], env={
            "SYSTEM_NAMESPACE": TEKTON_NAMESPACE, "KUBERNETES_MIN_VERSION": KUBE_MIN_VERSION,
            "CONFIG_LOGGING_NAME": "config-logging-triggers",
            "CONFIG_OBSERVABILITY_NAME": "config-observability-triggers",
            "METRICS_DOMAIN": "tekton.dev/triggers",
            "INTERCEPTOR_TLS_SVC_NAME": "tekton-triggers-core-interceptors",
            "INTERCEPTOR_TLS_SECRET_NAME": tekton.INTERCEPTORS_SECRET,
            "KUBECONFIG": str(self.layout.kubeconfig),
        })
        self._apply_repo_triggers()

    def _apply_repo_triggers(self) -> None:
        source = REPO_DIR / "triggers"
        overlay = self.layout.state / "triggers-overlay"
        docs = tekton.render_triggers(source, overlay, self.layout.binary("kubectl"), {
            "runner_url": DEFAULT_EVENTS_SINK.removesuffix("/cloudevents"),
            "harbor_host": self.layout.registry_host,
            "build_namespace": tekton.BUILD_NAMESPACE,
        })
        say(f"applying {len(docs)} objects from {source} (local settings: {overlay})")
        namespaces = [d for d in docs if d.get("kind") == "Namespace"]
        if namespaces:
            self.kube.apply_docs(namespaces)
        self.kube.apply_docs([d for d in docs if d.get("kind") != "Namespace"], server_side=True)
        el = tekton.find_eventlistener(docs)
        (self.layout.state / "eventlistener.json").write_text(json.dumps(
            {"name": el.name, "namespace": el.namespace, "source": str(source)}))
        p = self.layout.ports
        self.start_eventlistener("eventlistener", el, p.eventlistener, p.eventlistener_metrics,
                                 p.eventlistener_profiling)

    def start_eventlistener(self, process: str, el: tekton.EventListenerRef, port: int, metrics_port: int,
                            profiling_port: int) -> None:
        """Triggers' EventListener sink for `el`, as the tracked process `process` (its Deployment in a
        cluster); it reads its Triggers from the API server."""
        self._start(process, [
            self.layout.binary("eventlistenersink"), f"--kubeconfig={self.layout.kubeconfig}",
            f"-el-name={el.name}", f"-el-namespace={el.namespace}", f"-port={port}",
            "-readtimeout=30", "-writetimeout=40", "-timeouthandler=30",
        ], env={
            "SYSTEM_NAMESPACE": TEKTON_NAMESPACE, "NAMESPACE": el.namespace, "NAME": f"el-{el.name}",
            "EL_EVENT": "disable", "K_SINK_TIMEOUT": "30", "KUBERNETES_MIN_VERSION": KUBE_MIN_VERSION,
            "METRICS_PROMETHEUS_PORT": str(metrics_port),
            "PROFILING_PORT": str(profiling_port), "KUBECONFIG": str(self.layout.kubeconfig),
        })

    # ------------------------------------------------------------------ readiness

    def _wait_ready(self) -> None:
        p, insecure = self.layout.ports, insecure_ssl()
        self._wait("kube-controller-manager /healthz",
                   lambda: http_ok(f"https://127.0.0.1:{p.controller_manager}/healthz", ctx=insecure), 60,
                   log="kube-controller-manager")
        self._wait("kube-scheduler /healthz",
                   lambda: http_ok(f"https://127.0.0.1:{p.scheduler}/healthz", ctx=insecure), 60,
                   log="kube-scheduler")
        self._wait(f"node {NODE_NAME} Ready", self._node_ready, 60, log="kwok")
        for ns in ("default", TEKTON_NAMESPACE, tekton.BUILD_NAMESPACE):
            self._wait(f"ServiceAccount default in {ns}", functools.partial(self._has_default_sa, ns), 60,
                       log="kube-controller-manager")
        self._wait("tekton-controller probes", lambda: http_ok(f"http://127.0.0.1:{p.tekton_probes}/health"),
                   60, log="tekton-controller")
        self._wait("tekton-events probes", lambda: http_ok(f"http://127.0.0.1:{p.events_probes}/health"),
                   60, log="tekton-events")
        ca_only = self.kube.ssl_ca_only()
        self._wait("core interceptors /ready",
                   lambda: http_ok(f"https://127.0.0.1:{tekton.INTERCEPTORS_PORT}/ready", ctx=ca_only), 60,
                   log="triggers-interceptors")
        self._wait("EventListener sink /live", lambda: http_ok(f"http://127.0.0.1:{p.eventlistener}/live"),
                   90, log="eventlistener")
        self._wait("registry /v2/", lambda: http_ok(f"http://{self.layout.registry_host}/v2/"), 30,
                   log="registry")
        for name in self.COMPONENTS:
            if not self.procs.alive(name):
                raise RuntimeError(f"{name} exited during start-up\n{tail(self.procs.log_path(name))}")

    def _has_default_sa(self, namespace: str) -> bool:
        return self.kube.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default") is not None

    def _node_ready(self) -> bool:
        node = self.kube.get(f"/api/v1/nodes/{NODE_NAME}")
        conditions = (node or {}).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _selfcheck(self) -> None:
        """One TaskRun end to end (controller -> scheduler -> kwok -> controller), before any sink is set."""
        ns = "tekton-runner-selfcheck"
        self.kube.apply_docs([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
        self._wait(f"ServiceAccount default in {ns}", lambda: self._has_default_sa(ns), 60)
        self.kube.apply_docs([{
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": "selfcheck", "namespace": ns},
            "spec": {"taskSpec": {"steps": [{"name": "noop", "image": f"{FAKE_IMAGE_PREFIX}/shell:v1",
                                             "script": "true"}]}},
        }])

        def succeeded() -> bool:
            tr = self.kube.get(f"/apis/tekton.dev/v1/namespaces/{ns}/taskruns/selfcheck") or {}
            cond = [c for c in tr.get("status", {}).get("conditions", []) if c["type"] == "Succeeded"]
            if cond and cond[0]["status"] == "False":
                raise RuntimeError(f"self-check TaskRun failed: {cond[0].get('message')}")
            return bool(cond) and cond[0]["status"] == "True"

        try:
            wait_for("the self-check TaskRun to succeed", succeeded, 90, hint=lambda: "\n".join(
                tail(self.procs.log_path(n), 15) for n in ("tekton-controller", "kwok")))
        finally:
            self.kube.kubectl("delete", "namespace", ns, "--wait=false", check=False)

    # ------------------------------------------------------------------ configuration for users

    def set_events_sink(self, sink: str) -> None:
        self.kube.kubectl("patch", "configmap", "config-events", "-n", TEKTON_NAMESPACE, "--type=merge",
                          "-p", json.dumps({"data": {"sink": sink, "formats": "tektonv1"}}))

    def env(self, sink: str) -> dict[str, str]:
        el = json.loads((self.layout.state / "eventlistener.json").read_text())
        return {
            "KUBECONFIG": str(self.layout.kubeconfig),
            "TEKTON_RUNNER_CLUSTER_DIR": str(self.layout.state),
            "TEKTON_RUNNER_EVENTLISTENER_URL": self.layout.eventlistener_url,
            "TEKTON_RUNNER_EVENTLISTENER_NAME": el["name"],
            "TEKTON_RUNNER_EVENTLISTENER_NAMESPACE": el["namespace"],
            "TEKTON_RUNNER_BUILD_NAMESPACE": tekton.BUILD_NAMESPACE,
            # Harbor keeps images under a project; the local registry gets the same shape.
            "TEKTON_RUNNER_REGISTRY": f"{self.layout.registry_host}/library",
            "TEKTON_RUNNER_REGISTRY_HOST": self.layout.registry_host,
            "TEKTON_RUNNER_REGISTRY_HTTP": "true",
            "TEKTON_RUNNER_REGISTRY_SCHEME": "http",
            "TEKTON_RUNNER_WORKSPACE_PROVISIONER": "namespace",
            "TEKTON_RUNNER_EVENTS_SINK": sink,
            "TEKTON_RUNNER_KUBECTL": str(self.layout.binary("kubectl")),
            "TEKTON_RUNNER_K8S_VERSION": f"v{self.versions['K8S_VERSION']}",
        }

    def _write_env(self, sink: str) -> None:
        lines = [f"{k}={shlex.quote(v)}" for k, v in self.env(sink).items()]
        self.layout.env_file.write_text("\n".join(lines) + "\n")

    def restart(self, name: str) -> None:
        self.procs.restart(name)
        probes = {"tekton-controller": self.layout.ports.tekton_probes,
                  "tekton-events": self.layout.ports.events_probes}
        if name in probes:
            self._wait(f"{name} probes", lambda: http_ok(f"http://127.0.0.1:{probes[name]}/health"), 60, log=name)
        elif name == "eventlistener":
            self._wait("EventListener sink /live",
                       lambda: http_ok(f"http://127.0.0.1:{self.layout.ports.eventlistener}/live"), 90, log=name)

    # ------------------------------------------------------------------ down

    def down(self) -> None:
        from .node import Node  # the real node is an add-on that needs the plane, never the reverse

        Node(self).down()
        self.procs.stop_all()
        for sub in ("etcd", "registry"):
            shutil.rmtree(self.layout.state / sub, ignore_errors=True)
        self.layout.env_file.unlink(missing_ok=True)
        say(f"stopped; logs kept in {self.layout.logs}")


__all__ = ["Plane", "Timeout"]
