"""The field failure "lenovo: no such host": a node that was not told its registry's host name cannot pull
from it, and the pull error names the host; once the node is told the name (`ctl.py node hosts add`), a
new pod with the same image runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import CTL
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.real_node.conftest import Harbor, RealNode, pod_phase
from tests.e2e.real_node.test_build_pushes_to_harbor_by_host_name import pull_failure

pytestmark = pytest.mark.e2e


def hosts(*args: str) -> str:
    return subprocess.run([sys.executable, str(CTL), "node", "hosts", *args], check=True, capture_output=True,
                          text=True).stdout


async def test_a_node_not_told_the_registry_name_cannot_pull_until_told(
        kube: KubeAPI, real_node: RealNode, harbor: Harbor, namespace: str) -> None:
    await kube.create(f"/api/v1/namespaces/{namespace}/secrets", harbor.pull_secret("harbor-pull"))
    image = harbor.image(real_node.images["busybox"])

    def pod(name: str, restart: str) -> dict[str, object]:
        spec = real_node.pod(name, "busybox", ["true"], restartPolicy=restart,
                             imagePullSecrets=[{"name": "harbor-pull"}])
        # Always: the node asks the registry at every container start, even with the image left behind
        spec["spec"]["containers"][0].update(image=image, imagePullPolicy="Always")
        return spec

    assert harbor.host in hosts()
    hosts("remove", harbor.host)
    try:
        assert harbor.host not in hosts()
        # containerd's resolver rereads /etc/hosts at most every 5 s, so a pull right after the name went
        # may still find it: restarting, the pod pulls again until the node's resolver has caught up
        await kube.create(f"/api/v1/namespaces/{namespace}/pods", pod("untold", "Always"))
        message = await pull_failure(kube, namespace, "untold", 120)
        assert f"lookup {harbor.host}" in message and "no such host" in message, message
    finally:
        hosts("add", harbor.host)

    # likewise the first pull after the name is back may still miss it; the kubelet pulls again by itself
    await kube.create(f"/api/v1/namespaces/{namespace}/pods", pod("told", "Never"))
    ran = await pod_phase(kube, namespace, "told", ("Succeeded", "Failed"), 120)
    assert ran["status"]["phase"] == "Succeeded", ran["status"]
