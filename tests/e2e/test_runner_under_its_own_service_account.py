"""The runner with the rights deploy/ gives it and no more: `kubectl apply -k deploy/` on the real plane, a
token for its ServiceAccount from the TokenRequest API, and the runner started with that token instead of the
admin kubeconfig. The full flow (with a failed migration, whose Pod log is read), the push flow, deletions and
the resync then run exactly as with admin rights: any request the roles do not allow would fail them."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ROOT, Cluster, serving
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.runner import Runner
from tests.e2e.test_runner_full_flow import (  # noqa: F401  (collected again here, under the ServiceAccount)
    test_failed_migration_fails_the_run_and_leaves_the_app_unapplied,
    test_git_run_with_both_dependencies_and_migration_is_deployed,
)
from tests.e2e.test_webhook_push_deploys import (  # noqa: F401
    app,
    interceptors,
    test_signed_push_to_the_registered_branch_is_built_and_deployed,
)

pytestmark = pytest.mark.e2e

NAMESPACE = "tekton-runner"
ACCOUNT = "tekton-runner"


def kubectl(cluster: Cluster, *args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [cluster.env["TEKTON_RUNNER_KUBECTL"], "--kubeconfig", str(kubeconfig or cluster.kubeconfig), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def service_account_kubeconfig(cluster: Cluster, token: str, path: Path) -> Path:
    """The admin kubeconfig's server and CA, with the ServiceAccount's bearer token as the only credential."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "runner",
        "clusters": [{"name": "plane", "cluster": {"server": server["server"],
                                                   "certificate-authority": server["certificate-authority"]}}],
        "users": [{"name": ACCOUNT, "user": {"token": token}}],
        "contexts": [{"name": "runner", "context": {"cluster": "plane", "user": ACCOUNT}}],
    }))
    return path


@pytest.fixture(scope="module")
def installed(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/ applied with the admin credentials, and a kubeconfig holding only the runner's token."""
    applied = kubectl(cluster, "apply", "-k", str(ROOT / "deploy"))
    assert applied.returncode == 0, applied.stderr
    token = kubectl(cluster, "create", "token", ACCOUNT, "-n", NAMESPACE, "--duration=2h")
    assert token.returncode == 0, token.stderr
    return service_account_kubeconfig(cluster, token.stdout.strip(),
                                      tmp_path_factory.mktemp("sa") / "kubeconfig")


def can_i(cluster: Cluster, kubeconfig: Path, *args: str) -> bool:
    answer = kubectl(cluster, "auth", "can-i", *args, kubeconfig=kubeconfig)
    return answer.stdout.strip() == "yes"


def test_the_token_is_the_service_accounts_and_is_held_to_its_roles(cluster: Cluster, installed: Path) -> None:
    who = kubectl(cluster, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", kubeconfig=installed)
    assert who.stdout == f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}", who.stderr
    build = cluster.build_namespace
    assert can_i(cluster, installed, "list", "taskruns.tekton.dev", "-n", build)  # positive control
    assert can_i(cluster, installed, "create", "namespaces")
    assert not can_i(cluster, installed, "create", "taskruns.tekton.dev", "-n", build)  # Tekton creates them
    assert not can_i(cluster, installed, "list", "taskruns.tekton.dev", "-n", "default")
    assert not can_i(cluster, installed, "get", "configmaps", "-n", "tekton-pipelines")
    assert not can_i(cluster, installed, "create", "clusterrolebindings")
    assert not can_i(cluster, installed, "update", "deployments", "-n", "default")


@pytest.fixture
async def runner(cluster: Cluster, kube: KubeAPI, installed: Path, tmp_path: Path) -> AsyncIterator[Runner]:
    """`tekton-runner serve` whose only credential is the ServiceAccount token; Tekton's sink points at it."""
    proc = Runner({**cluster.env, "KUBECONFIG": str(installed)}, tmp_path / "runner")
    async with serving(kube, proc):
        async with proc.session.get(f"{proc.base_url}/readyz") as ready:
            assert ready.status == 200, await ready.text()
        yield proc
        async with proc.session.get(f"{proc.base_url}/workspaces") as listed:
            assert listed.status == 200, await listed.text()  # lists namespaces
    log = await proc.log_tail(400) if proc.log_path.exists() else ""
    # A 403 as a status, not as the milliseconds of a timestamp (",403").
    assert "Forbidden" not in log and not re.search(r"(?<![,.\d])403(?!\d)", log), log
