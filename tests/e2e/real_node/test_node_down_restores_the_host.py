"""`cluster/ctl.py node down` puts the host back as it was before `node up`: kernel settings, iptables
and nft tables, links, mounts, kubepods cgroups, paths outside the node's directory and the /etc/hosts
lines that told the node its registry's name (the machine's own lines stay). The snapshot taken while the
node runs a pod behind a Service must differ (so the comparison can fail)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.e2e.conftest import CTL, ROOT
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.real_node.conftest import RealNode, pod_phase

sys.path.insert(0, str(ROOT / "cluster"))
from localplane import host, names
from localplane.config import NodeLayout

pytestmark = pytest.mark.e2e


def ctl(*args: str) -> None:
    subprocess.run([sys.executable, str(CTL), *args], check=True)


def host_state() -> dict[str, Any]:
    return host.snapshot(NodeLayout.from_env().roots)


async def test_node_down_leaves_the_host_as_before_up(kube: KubeAPI, real_node: RealNode, namespace: str) -> None:
    ctl("node", "down")
    before = host_state()
    machine_lines = names.ETC_HOSTS.read_text().splitlines()
    ctl("node", "up")
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", real_node.pod(
        "web", "busybox", ["httpd", "-f", "-p", "8080"]))
    await kube.create(f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}], "type": "NodePort"}})
    await pod_phase(kube, namespace, "web", ("Running",), 120)
    running = host_state()

    ctl("node", "down")
    after = host_state()
    ctl("node", "up")

    changed = host.differences(before, running)
    for part in ("links", "mounts", "cgroups", "iptables_chains", "etc_hosts"):
        assert any(d.startswith(part) for d in changed), (part, changed)
    assert host.differences(before, after) == []
    assert machine_lines == [line for line in names.ETC_HOSTS.read_text().splitlines() if names.MARK not in line]
