"""`cluster/ctl.py listener up` installs another copy of triggers/ on the shared local plane: everything in
its own build namespace, with its own settings, components and patches, and nothing that would change
the plane's own install (Tekton's config-events, the cluster-wide binding of the plane's EventListener)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cluster"))
from localplane import tekton  # noqa: E402
from localplane.listeners import keep_shared_objects  # noqa: E402


def test_the_copy_lives_in_its_namespace_and_takes_nothing_from_the_planes_install(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render triggers/ (as the triggers/ kustomization tests need it)")
    docs = tekton.render_triggers(
        ROOT / "triggers", tmp_path / "overlay", Path(kubectl),
        {"runner_url": "http://unused.invalid", "build_namespace": "builds-two", "harbor_host": "10.0.0.5:5000",
         "builder_image": "10.0.0.5:5000/kaniko:1", "fetch_image": "10.0.0.5:5000/fetch:1"},
        extra_components=["step-images", "plain-http-registry"], patches=keep_shared_objects("builds-two"))
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("ConfigMap", "config-events") not in names
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    assert binding["metadata"]["name"] == "tekton-runner-eventlistener-builds-two"
    assert [s["namespace"] for s in binding["subjects"]] == ["builds-two"]
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] not in cluster_scoped} == {"builds-two"}
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == ["builds-two"]
    template = next(d for d in docs if (d["kind"], d["metadata"]["name"]) == ("TriggerTemplate", "tekton-runner-build"))
    params = {p["name"]: p["value"] for p in template["spec"]["resourcetemplates"][0]["spec"]["params"]}
    assert params["BUILDER_IMAGE"] == "10.0.0.5:5000/kaniko:1"
    assert params["EXTRA_ARGS"] == ["--insecure-registry=10.0.0.5:5000"]
