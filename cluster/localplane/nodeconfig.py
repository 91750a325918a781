"""The real node's configuration files, as pure functions of its layout: CNI, containerd, CoreDNS and
the kube-dns Service, kubelet, kube-proxy. node.py writes them and starts the processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import REAL_NODE_TAINT, NodeLayout


def cni_conflist(lo: NodeLayout) -> dict[str, Any]:
    """A bridge with host-local addresses, masquerade and hairpin, and portmap for hostPorts."""
    return {
        "cniVersion": "1.0.0", "name": "tekton-runner-node", "plugins": [
            {"type": "bridge", "bridge": lo.bridge, "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(lo.dir / "cni" / "ipam"),
                      "ranges": [[{"subnet": lo.pod_cidr, "gateway": lo.gateway}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ]}


def registry_hosts_toml(registry: str, ca: Path | None = None) -> str:
    """containerd's hosts.toml for a registry: plain HTTP, or HTTPS verified with the CA file `ca`."""
    scheme = "http" if ca is None else "https"
    trust = "" if ca is None else f'  ca = "{ca}"\n'
    return (f'server = "{scheme}://{registry}"\n\n[host."{scheme}://{registry}"]\n'
            f'  capabilities = ["pull", "resolve"]\n{trust}')


def containerd_toml(lo: NodeLayout, pause_image: str, cni_bin: Path, certs_dir: Path) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{lo.dir / 'containerd' / 'root'}"
state = "{lo.run / 'containerd' / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{lo.containerd_socket}"

[ttrpc]
  address = "{lo.run / 'containerd' / 'containerd.sock.ttrpc'}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{lo.dir / 'containerd' / 'opt'}"

[{cri}]
  sandbox_image = "{pause_image}"
  # runc cannot set a negative oom_score_adj without CAP_SYS_RESOURCE (sandboxes fail with
  # "can't get final child's PID from pipe: EOF"): keep containers at or above ours.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "{lo.ports.containerd_stream}"
  enable_selinux = false

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{cni_bin}"
  conf_dir = "{lo.dir / 'cni' / 'net.d'}"

[{cri}.registry]
  config_path = "{certs_dir}"
"""


def corefile(lo: NodeLayout, kubeconfig: Path, hosts: Path) -> str:
    """CoreDNS on the bridge address: cluster.local from the API server, extra names from `hosts`,
    everything else forwarded to the host's resolvers. A name told or untold (names.py) takes effect
    within seconds: `hosts` is read every second and answered with a 5 s TTL, and no "no such name" is
    cached, so a pod that asked before the node was told gets the answer on its next try."""
    return f""".:53 {{
    bind {lo.gateway}
    errors
    health 127.0.0.1:{lo.ports.coredns_health}
    ready 127.0.0.1:{lo.ports.coredns_ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    hosts {hosts} {{
        ttl 5
        reload 1s
        fallthrough
    }}
    forward . /etc/resolv.conf
    cache 30 {{
        disable denial
    }}
}}
"""


def kube_dns(lo: NodeLayout, namespace: str) -> list[dict[str, Any]]:
    """The kube-dns Service (the kubelet's clusterDNS), its one endpoint being CoreDNS on the bridge."""
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": namespace, "labels": {"k8s-app": "kube-dns"}},
         "spec": {"clusterIP": lo.dns_service_ip, "ports": [{**p, "targetPort": 53} for p in ports]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kube-dns-host", "namespace": namespace,
                      "labels": {"kubernetes.io/service-name": "kube-dns",
                                 "endpointslice.kubernetes.io/managed-by": "tekton-runner-local"}},
         "addressType": "IPv4", "ports": ports,
         "endpoints": [{"addresses": [lo.gateway], "conditions": {"ready": True}}]},
    ]


def kubelet_config(lo: NodeLayout) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        # the machine has cgroup v1; containerd 1.6 reports no cgroup driver; swap may be on
        "failCgroupV1": False, "cgroupDriver": "cgroupfs", "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{lo.containerd_socket}",
        "address": "0.0.0.0", "port": lo.ports.kubelet, "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1", "healthzPort": lo.ports.kubelet_healthz,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(lo.pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [lo.dns_service_ip], "clusterDomain": "cluster.local",
        "registerWithTaints": [REAL_NODE_TAINT],
        "podLogsDir": str(lo.dir / "kubelet" / "pod-logs"),
        "volumePluginDir": str(lo.dir / "kubelet" / "volume-plugins"),
        "resolvConf": "/etc/resolv.conf", "serializeImagePulls": False, "maxPods": 50,
        # a shared developer machine: never evict because its disk or memory is busy
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "rotateCertificates": False, "serverTLSBootstrap": False,
    }


def kube_proxy_config(lo: NodeLayout, node_name: str) -> dict[str, Any]:
    """iptables mode: NodePorts answer on 127.0.0.1 too (nftables mode does not do that)."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "mode": "iptables", "hostnameOverride": node_name, "clusterCIDR": lo.pod_cidr,
        "clientConnection": {"kubeconfig": str(lo.dir / "kube-proxy.kubeconfig")},
        "healthzBindAddress": f"127.0.0.1:{lo.ports.proxy_healthz}",
        "metricsBindAddress": f"127.0.0.1:{lo.ports.proxy_metrics}",
        # leave the host's conntrack settings alone
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
