"""The runner's build Task run on the real node from a git repository served here: what the real-tier build
tests share. The TaskRun names the fetch and Kaniko images built here and carries the node's toleration and
a nodeSelector in its podTemplate (only the real tier asks for the node)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.kubeapi import KubeAPI, Obj, condition, poll, taskrun_path
from tests.e2e.real_node.conftest import TOLERATION, RealNode
from tests.e2e.real_node.gitserver import commit_repository, serve_git

BUILD_TASK = "tekton-runner-build"


async def run_build(kube: KubeAPI, real_node: RealNode, namespace: str, name: str, files: dict[str, str],
                    tmp_path: Path, params: list[Obj], workspaces: list[Obj]) -> tuple[Obj, str]:
    """Commit `files`, serve them over git's smart HTTP, run the Task with `params` (IMAGE among them) and
    `workspaces` besides the source's, and wait for the TaskRun to end: (TaskRun, commit)."""
    served = tmp_path / "served"
    served.mkdir()
    commit = commit_repository(tmp_path / "work", files, served / "app.git")
    async with serve_git(served, real_node.registry.split(":")[0]) as git_url:
        await kube.create(taskrun_path(namespace), {
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": name},
            "spec": {
                "taskRef": {"kind": "Task", "name": BUILD_TASK},
                "params": [
                    {"name": "SOURCE_TYPE", "value": "git"},
                    {"name": "GIT_URL", "value": f"{git_url}/app.git"},
                    {"name": "GIT_REVISION", "value": "main"},
                    {"name": "FETCH_IMAGE", "value": real_node.images["fetch"]},
                    {"name": "BUILDER_IMAGE", "value": real_node.images["kaniko"]},
                    *params,
                ],
                "workspaces": [{"name": "source", "emptyDir": {}}, *workspaces],
                "podTemplate": {"nodeSelector": {"kubernetes.io/hostname": real_node.name},
                                "tolerations": [TOLERATION]},
            },
        })

        async def ended() -> Obj | None:
            tr = await kube.get(taskrun_path(namespace, name))
            cond = condition(tr, "Succeeded")
            return tr if cond is not None and cond["status"] != "Unknown" else None

        return await poll(f"TaskRun {name} to end", ended, 900), commit
