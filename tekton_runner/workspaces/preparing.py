"""Puts a workspace namespace in place (labels, Harbor pull Secret, default ServiceAccount); both provisioners."""

from __future__ import annotations

from ..kube import Kube, KubeObject, NotFound
from ..manifests import Renderer
from ..models.settings import WorkspaceSettings
from ..models.taskruns import MANAGED_BY_LABEL, MANAGER, WORKSPACE_LABEL
from . import registry_auth
from .errors import WorkspaceBusy, WorkspaceConflict

TEMPLATE = "workspace.yaml.j2"


def workspace_labels(workspace: str) -> dict[str, str]:
    # The chain applies the namespace with these same labels and field manager: a different set would
    # make one apply remove the other's labels.
    return {WORKSPACE_LABEL: workspace, MANAGED_BY_LABEL: MANAGER}


def is_managed(namespace: KubeObject, workspace: str | None = None) -> bool:
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGER or WORKSPACE_LABEL not in labels:
        return False
    return workspace is None or labels[WORKSPACE_LABEL] == workspace


async def check_namespace(kube: Kube, namespace: str, workspace: str) -> KubeObject | None:
    """The existing namespace (None when absent); raises when it is terminating or not the runner's."""
    try:
        found = await kube.get("v1", "Namespace", namespace)
    except NotFound:
        return None
    if (found.get("status") or {}).get("phase") == "Terminating":
        raise WorkspaceBusy(f"namespace {namespace} is being deleted; the workspace can be created once it is gone")
    if not is_managed(found, workspace):
        raise WorkspaceConflict(
            f"namespace {namespace} exists without the labels {MANAGED_BY_LABEL}={MANAGER} and "
            f"{WORKSPACE_LABEL}={workspace}: it is not a tekton-runner workspace, so it is left alone"
        )
    return found


async def prepare_namespace(
    kube: Kube, renderer: Renderer, settings: WorkspaceSettings, *, workspace: str, namespace: str,
) -> None:
    """Applies the namespace and, when credentials are configured, the pull Secret and its ServiceAccount use."""
    await check_namespace(kube, namespace, workspace)
    config = await registry_auth.pull_config(settings)
    values = {
        "namespace": namespace,
        "workspace_labels": workspace_labels(workspace),
        "pull_secret": settings.pull_secret if config is not None else None,
        "dockerconfigjson": registry_auth.encoded(config) if config is not None else None,
    }
    for obj in renderer.render(TEMPLATE, values):
        await kube.apply(obj)
