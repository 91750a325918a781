"""A real node beside kwok's: containerd + runc from Debian, kubelet and kube-proxy from the Kubernetes
module, CNI plugins, and CoreDNS as the cluster DNS. Started on a running plane (`ctl.py node up`).

It is an add-on: the plane's fast tier is unchanged. The node is named after the machine's host
name, tainted (config.REAL_NODE_TAINT) so only pods that tolerate it land there, and carries no kwok
annotation, so kwok never manages it or its pods. `down` stops every process, removes what the
components left behind and puts the host back as host.py recorded it before `up`.

Pods get addresses on a bridge (config.NodeLayout.bridge, pod_cidr) through the CNI bridge plugin;
CoreDNS runs on the host, bound to the bridge's address, and is reached through the `kube-dns`
Service (ClusterIP dns_service_ip) that kube-proxy (iptables mode) translates. The plane's registry
listens on loopback; a socat relay on the bridge's address (registry_address) lets pods push to it, and
containerd pulls from that address as well. The same registry is also served as Harbor is met in the
field (harbor.py): by a host name the node is told (names.py), over TLS with the plane's CA, for a robot
account (harbor_address). While the node is up, the plane's Tekton controller names the step images built
here (toolimages.py) instead of its placeholders.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import harbor, host, names, nodeconfig
from . import pki as pki_mod
from .config import CLUSTER_DIR, REAL_NODE_LABEL, REAL_NODE_TAINT, NodeLayout
from .images import Images
from .kube import http_ok
from .procs import Processes, Timeout, tail, wait_for
from .toolimages import ALL_RECIPES, TEKTON_IMAGES

if TYPE_CHECKING:
    from .plane import Plane

# Debian package of each command the node needs.
PACKAGES = {"containerd": "containerd", "runc": "runc", "iptables": "iptables", "conntrack": "conntrack",
            "busybox": "busybox-static", "gcc": "gcc", "socat": "socat", "htpasswd": "apache2-utils"}
NODE_IMAGES = ("pause", "busybox")
DNS_NAMESPACE = "kube-system"


def say(msg: str) -> None:
    print(f"[node {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_ipv4() -> str:
    """The address of the interface the default route leaves through (the node's InternalIP)."""
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True,
                                       text=True, check=True).stdout or "[]")
    devices = [r["dev"] for r in routes if "dev" in r]
    addrs = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True,
                                      check=True).stdout)
    for link in addrs:
        if (not devices or link["ifname"] in devices) and link["ifname"] != "lo":
            for a in link.get("addr_info", []):
                if a.get("family") == "inet":
                    return str(a["local"])
    raise RuntimeError("no IPv4 address to give the node (no default route, no non-loopback address)")


def _kill_where(ours: Callable[[list[bytes]], bool]) -> None:
    """SIGKILL each process whose command line `ours` recognises (one of the node's, by its arguments)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[-1] == b"":
            argv.pop()
        if argv and ours(argv):
            try:
                os.kill(int(proc.name), 9)
            except ProcessLookupError:
                pass


class Node:
    COMPONENTS = ("containerd", "coredns", "kubelet", "kube-proxy", "registry-relay", "harbor")

    def __init__(self, plane: Plane, layout: NodeLayout | None = None) -> None:
        self.plane = plane
        self.layout = layout or NodeLayout.from_env()
        self.procs = Processes(self.layout.pids, self.layout.logs)
        self.name = socket.gethostname().lower()
        self.images = Images(plane.layout.cache, plane.layout.registry_host, ALL_RECIPES)
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, bool]:
        return {c: self.procs.alive(c) for c in self.COMPONENTS}

    def is_up(self) -> bool:
        return all(self.status().values()) and self._node_ready()

    def _node_ready(self) -> bool:
        node = self.plane.kube.get(f"/api/v1/nodes/{self.name}")
        conditions = (node or {}).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _timed(self, phase: str, fn: Any) -> None:
        start = time.monotonic()
        fn()
        self.timings[phase] = round(time.monotonic() - start, 2)
        say(f"{phase}: {self.timings[phase]}s")

    def _wait(self, what: str, check: Any, timeout: float, log: str) -> None:
        def hint() -> str:
            dead = "" if self.procs.alive(log) else f"{log} is not running\n"
            return dead + tail(self.procs.log_path(log))
        wait_for(what, check, timeout, hint=hint)

    # ------------------------------------------------------------------ up

    def up(self) -> None:
        if not self.plane.is_up():
            raise RuntimeError("the plane is not up: run `cluster/ctl.py up` first")
        if self.is_up():
            say(f"already up: node {self.name}")
            return
        if self.layout.host_before.exists():
            say("found a partly started node; taking it down first")
            self.down()
        total = time.monotonic()
        self._timed("prerequisites", self._prerequisites)
        self._timed("build", lambda: subprocess.run(
            ["bash", str(CLUSTER_DIR / "build.sh"), "kubenode", "cni", "coredns", "tektonimages"], check=True))
        for d in (self.layout.dir, self.layout.logs, self.layout.pids, self.layout.pki, self.layout.run):
            d.mkdir(parents=True, exist_ok=True)
        self.layout.host_before.write_text(json.dumps(host.snapshot(self.layout.roots), indent=1))
        try:
            self._timed("images", self._push_images)
            self._timed("apiserver kubelet client", self._apiserver_reaches_kubelets)
            self._timed("credentials", self._credentials)
            self._timed("network", self._network)
            self._timed("containerd", self._start_containerd)
            self._timed("coredns", self._start_coredns)
            self._timed("kubelet", self._start_kubelet)
            self._timed("kube-proxy", self._start_kube_proxy)
            self._timed("registry relay", self._start_registry_relay)
            self._timed("harbor", self._start_harbor)
            self._timed("tekton step images", self._point_tekton_at_images)
        except BaseException:
            say(f"node start-up failed; undoing it (logs stay in {self.layout.logs})")
            self.down()
            raise
        self.timings["total"] = round(time.monotonic() - total, 2)
        (self.layout.dir / "timings.json").write_text(json.dumps(self.timings, indent=2) + "\n")
        say(f"node {self.name} up in {self.timings['total']}s")

    def _prerequisites(self) -> None:
        missing = sorted({pkg for cmd, pkg in PACKAGES.items() if shutil.which(cmd) is None})
        if not missing:
            return
        if os.geteuid() != 0:
            raise RuntimeError(f"install the Debian packages: {' '.join(missing)}")
        say(f"installing {' '.join(missing)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)

    def _push_images(self) -> None:
        for name in dict.fromkeys((*NODE_IMAGES, *TEKTON_IMAGES.values())):
            say(f"image {self.images.push(name)}")

    @property
    def registry_address(self) -> str:
        """The plane's registry as pods and containerd reach it: the bridge's address, the registry's port."""
        return f"{self.layout.gateway}:{self.plane.layout.ports.registry}"

    def _start_registry_relay(self) -> None:
        host, port = self.registry_address.split(":")
        self.procs.start("registry-relay", [
            "socat", f"TCP-LISTEN:{port},bind={host},reuseaddr,fork", f"TCP:{self.plane.layout.registry_host}"])
        self._wait("the registry through the relay", lambda: http_ok(f"http://{self.registry_address}/v2/"), 30,
                   log="registry-relay")

    @property
    def harbor_address(self) -> str:
        """The registry as Harbor: its host name and TLS port (the name resolves where the node was told it)."""
        return f"{self.layout.registry_name}:{self.layout.ports.harbor}"

    @property
    def robot(self) -> harbor.Robot:
        return harbor.robot(self.plane.layout.harbor)

    def _start_harbor(self) -> None:
        lo, plane = self.layout, self.plane.layout
        config = harbor.write_config(plane.harbor, plane.pki, lo.registry_name, plane.registry_data,
                                     f"{lo.gateway}:{lo.ports.harbor}")
        registry = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        self._stop_stray_harbor()
        self.procs.start("harbor", [registry, "serve", config])
        self.tell(lo.registry_name)
        account, ca = self.robot, self.plane.layout.pki / "ca.crt"
        self._wait("the registry by host name over TLS", lambda: harbor.answers(self.harbor_address, ca, account),
                   30, log="harbor")

    # ------------------------------------------------------------------ host names

    def tell(self, name: str, address: str | None = None) -> None:
        """Tell the node `name` (default: at the bridge's address, where the registry listens), in
        /etc/hosts and in the cluster DNS; returns once the cluster DNS answers it."""
        address = address or self.layout.gateway
        names.add(names.ETC_HOSTS, name, address)
        names.add(self.layout.hosts_file, name, address)
        wait_for(f"the cluster DNS to answer {name}", lambda: address in names.resolve(name, self.layout.gateway),
                 30, hint=lambda: tail(self.procs.log_path("coredns")))

    def untell(self, name: str) -> None:
        """The node forgets `name` (only what it was told: the machine's own /etc/hosts lines stay)."""
        address = self.told().get(name)
        names.remove(names.ETC_HOSTS, name)
        names.remove(self.layout.hosts_file, name)
        if address is not None:
            wait_for(f"the cluster DNS to forget {name}",
                     lambda: address not in names.resolve(name, self.layout.gateway), 30)

    def told(self) -> dict[str, str]:
        """The names the node was told: name -> address."""
        return names.entries(names.ETC_HOSTS)

    def _point_tekton_at_images(self) -> None:
        self.plane.use_tekton_images({flag: self.images.reference(name) for flag, name in TEKTON_IMAGES.items()})

    def _apiserver_reaches_kubelets(self) -> None:
        """A plane started before the API server knew kubelets gets the flags now (one restart)."""
        from .plane import kubelet_client_flags

        pk = self.plane.layout.pki
        flags = kubelet_client_flags(pk)
        if all(f in self.plane.procs.argv("kube-apiserver") for f in flags):
            return
        if not (pk / f"{pki_mod.KUBELET_CLIENT}.crt").exists():
            pki_mod.sign_kubelet_client(pk)
        say("restarting kube-apiserver with a kubelet client certificate")
        self.plane.procs.restart("kube-apiserver", flags)
        wait_for("kube-apiserver /readyz", self.plane.kube.ready, 90,
                 hint=lambda: tail(self.plane.procs.log_path("kube-apiserver")))

    def _credentials(self) -> None:
        pk, ca = self.layout.pki, self.plane.layout.pki
        shutil.copy(ca / "ca.crt", pk / "ca.crt")
        pki_mod.sign_client(pk, "kubelet", f"/O=system:nodes/CN=system:node:{self.name}", ca_dir=ca)
        pki_mod.sign_client(pk, "kube-proxy", "/CN=system:kube-proxy", ca_dir=ca)
        server = self.plane.layout.apiserver_url
        pki_mod.write_kubeconfig(self.layout.dir / "kubelet.kubeconfig", pk, server, user="kubelet")
        pki_mod.write_kubeconfig(self.layout.dir / "kube-proxy.kubeconfig", pk, server, user="kube-proxy")

    def _network(self) -> None:
        """Bridged pod traffic through iptables (Service addresses), and the bridge itself up front so
        CoreDNS can bind to its address before the first pod exists."""
        if not Path("/proc/sys/net/bridge").is_dir():
            subprocess.run(["modprobe", "br_netfilter"], check=False)
        for name in ("net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward"):
            (Path("/proc/sys") / name).write_text("1\n")
        lo = self.layout
        if subprocess.run(["ip", "link", "show", lo.bridge], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", lo.bridge, "type", "bridge"], check=True)
        prefix = lo.pod_cidr.split("/")[1]
        subprocess.run(["ip", "addr", "replace", f"{lo.gateway}/{prefix}", "dev", lo.bridge], check=True)
        subprocess.run(["ip", "link", "set", lo.bridge, "up"], check=True)
        cni_dir = lo.dir / "cni" / "net.d"
        cni_dir.mkdir(parents=True, exist_ok=True)
        (cni_dir / "10-tekton-runner.conflist").write_text(json.dumps(nodeconfig.cni_conflist(lo), indent=1))

    # ------------------------------------------------------------------ containerd

    def _containerd_config(self) -> Path:
        lo, registry = self.layout, self.plane.layout.registry_host
        certs = lo.dir / "containerd" / "certs.d"
        for address in (registry, self.registry_address):
            (certs / address).mkdir(parents=True, exist_ok=True)
            (certs / address / "hosts.toml").write_text(nodeconfig.registry_hosts_toml(address))
        # as an operator trusts a site CA for one registry: certs.d/<host:port>/ca.crt, named in hosts.toml
        trust = certs / self.harbor_address
        trust.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.plane.layout.pki / "ca.crt", trust / "ca.crt")
        (trust / "hosts.toml").write_text(nodeconfig.registry_hosts_toml(self.harbor_address, trust / "ca.crt"))
        path = lo.dir / "containerd.toml"
        path.write_text(nodeconfig.containerd_toml(lo, self.images.reference("pause"),
                                                   self.plane.layout.bin / "cni", certs))
        return path

    def _start_containerd(self) -> None:
        config = self._containerd_config()
        self.procs.start("containerd", ["containerd", f"--config={config}", "--log-level=warn"])
        self._wait("containerd socket", self.layout.containerd_socket.exists, 30, log="containerd")
        self._wait("containerd to answer", lambda: self._ctr("version").returncode == 0, 30, log="containerd")

    def _ctr(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ctr", f"--address={self.layout.containerd_socket}", "--namespace=k8s.io", *args],
                              capture_output=True, text=True)

    # ------------------------------------------------------------------ DNS

    def _start_coredns(self) -> None:
        lo = self.layout
        if not lo.hosts_file.exists():
            lo.hosts_file.write_text("# extra host names the cluster DNS answers (e.g. a registry's)\n")
        corefile = lo.dir / "Corefile"
        corefile.write_text(nodeconfig.corefile(lo, self.plane.layout.kubeconfig, lo.hosts_file))
        self.procs.start("coredns", [self.plane.layout.binary("coredns"), f"-conf={corefile}"], cwd=lo.dir)
        self._wait("CoreDNS ready", lambda: http_ok(f"http://127.0.0.1:{lo.ports.coredns_ready}/ready"), 60,
                   log="coredns")
        self.plane.kube.apply_docs(nodeconfig.kube_dns(lo, DNS_NAMESPACE))

    # ------------------------------------------------------------------ kubelet, kube-proxy

    def _kubelet_config(self) -> Path:
        path = self.layout.dir / "kubelet.yaml"
        path.write_text(yaml.safe_dump(nodeconfig.kubelet_config(self.layout)))
        return path

    def _start_kubelet(self) -> None:
        lo = self.layout
        config = self._kubelet_config()
        self.procs.start("kubelet", [
            self.plane.layout.binary("kubelet"), f"--config={config}",
            f"--kubeconfig={lo.dir / 'kubelet.kubeconfig'}", f"--root-dir={lo.dir / 'kubelet'}",
            f"--hostname-override={self.name}", f"--node-ip={default_ipv4()}",
            f"--node-labels={REAL_NODE_LABEL}=true,type=real", "--v=1",
        ])
        self._wait(f"node {self.name} Ready", self._node_ready, 120, log="kubelet")

    def _start_kube_proxy(self) -> None:
        lo = self.layout
        config = nodeconfig.kube_proxy_config(lo, self.name)
        path = lo.dir / "kube-proxy.yaml"
        path.write_text(yaml.safe_dump(config))
        self.procs.start("kube-proxy", [self.plane.layout.binary("kube-proxy"), f"--config={path}", "--v=1"])
        self._wait("kube-proxy /healthz", lambda: http_ok(f"http://127.0.0.1:{lo.ports.proxy_healthz}/healthz"),
                   60, log="kube-proxy")

    # ------------------------------------------------------------------ down

    def down(self) -> None:
        """Stop the node and undo its host changes; a no-op when it never started."""
        if not self.layout.host_before.exists() and not self.procs.tracked():
            return
        start = time.monotonic()
        if self.plane.is_up():
            self.plane.use_tekton_images(None)
        self._delete_pods()
        for name in ("kube-proxy", "kubelet", "coredns", "registry-relay", "harbor"):
            self.procs.stop(name)
        self._remove_containers()
        self.procs.stop("containerd")
        self._stop_shims()
        self._stop_stray_harbor()
        self._delete_api_objects()
        left: list[str] = []
        if self.layout.host_before.exists():
            before = json.loads(self.layout.host_before.read_text())
            left = host.restore(before, self.layout.roots, self.layout.bridge)
        for path in (self.layout.dir / "kubelet", self.layout.dir / "containerd", self.layout.dir / "cni",
                     self.layout.run, self.layout.pki, self.layout.pids):
            shutil.rmtree(path, ignore_errors=True)
        for f in self.layout.dir.glob("*"):
            if f.is_file():
                f.unlink()
        say(f"node down in {time.monotonic() - start:.1f}s; logs kept in {self.layout.logs}")
        if left:
            say("host state differs from before `up`: " + "; ".join(left))

    def _delete_pods(self) -> None:
        """Let the kubelet stop every pod (CNI teardown included) before it is stopped itself."""
        if not self.procs.alive("kubelet") or not self.plane.kube.ready():
            return
        self.plane.kube.kubectl("delete", "pods", "--all-namespaces", f"--field-selector=spec.nodeName={self.name}",
                                "--grace-period=0", "--force", "--wait=false", check=False)
        try:
            wait_for("the kubelet to stop its pods", lambda: not self._ctr("tasks", "ls", "-q").stdout.strip(), 60)
        except Timeout:
            say("pods still running after 60s; removing their containers directly")

    def _remove_containers(self) -> None:
        if not self.procs.alive("containerd"):
            return
        for task in self._ctr("tasks", "ls", "-q").stdout.split():
            self._ctr("tasks", "rm", "-f", task)
        for container in self._ctr("containers", "ls", "-q").stdout.split():
            self._ctr("containers", "rm", container)

    def _stop_shims(self) -> None:
        """containerd's shims outlive it; they are ours when they serve our containerd's socket."""
        address = str(self.layout.containerd_socket).encode()
        _kill_where(lambda argv: argv[0].endswith(b"containerd-shim-runc-v2") and address in argv)

    def _stop_stray_harbor(self) -> None:
        """A registry left running on our config by a `down` that did not know it (its PID file is gone),
        which would keep the port: ours when it serves our config file."""
        if self.procs.alive("harbor"):
            return
        config = str(self.plane.layout.harbor / "config.yml").encode()
        _kill_where(lambda argv: argv[-1] == config and b"serve" in argv)

    def _delete_api_objects(self) -> None:
        if not self.plane.kube.ready():
            return
        self.plane.kube.kubectl("delete", "node", self.name, "--ignore-not-found", "--wait=false", check=False)
        self.plane.kube.kubectl("delete", "-n", DNS_NAMESPACE, "service/kube-dns", "endpointslice/kube-dns-host",
                                "--ignore-not-found", "--wait=false", check=False)

    # ------------------------------------------------------------------ for tests and users

    def env(self) -> dict[str, str]:
        return {
            "TEKTON_RUNNER_REAL_NODE": self.name,
            "TEKTON_RUNNER_REAL_NODE_TAINT": f"{REAL_NODE_TAINT['key']}={REAL_NODE_TAINT['value']}:"
                                             f"{REAL_NODE_TAINT['effect']}",
            "TEKTON_RUNNER_NODE_DIR": str(self.layout.dir),
            "TEKTON_RUNNER_NODE_REGISTRY": self.registry_address,
            # the same registry as Harbor: host name (told to the node), TLS with the plane's CA, robot account
            "TEKTON_RUNNER_NODE_HARBOR": self.harbor_address,
            "TEKTON_RUNNER_NODE_HARBOR_CA": str(self.plane.layout.pki / "ca.crt"),
            "TEKTON_RUNNER_NODE_HARBOR_USERNAME": self.robot.username,
            "TEKTON_RUNNER_NODE_HARBOR_PASSWORD": self.robot.password,
            **{f"TEKTON_RUNNER_IMAGE_{n.upper().replace('-', '_')}": self.images.reference(n)
               for n in dict.fromkeys((*NODE_IMAGES, *TEKTON_IMAGES.values()))},
        }
