"""What several steps share: the pull secret, where pods run, the requested dependency kinds and the env they give."""

from __future__ import annotations

from typing import Any

from ...models.dependencies import DependencyKind, kinds_named
from ...models.runs import Run
from .. import naming
from ..context import ChainContext


def pull_secrets(ctx: ChainContext) -> list[dict[str, str]]:
    name = ctx.settings.image_pull_secret or ctx.settings.workspaces.pull_secret_name
    return [{"name": name}] if name else []


def placement(ctx: ChainContext) -> dict[str, Any]:
    """The node selector and tolerations every workspace pod gets (TEKTON_RUNNER_NODE_SELECTOR, _TOLERATIONS)."""
    return {"node_selector": ctx.settings.node_selector,
            "tolerations": [toleration.manifest() for toleration in ctx.settings.tolerations]}


def requested_kinds(run: Run) -> tuple[DependencyKind, ...]:
    return kinds_named(run.spec.dependencies)


def secret_env(run: Run, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": naming.secret_name(run), "key": key}}}
        for key in keys
    ]


def dependency_env(run: Run) -> list[dict[str, Any]]:
    """Every env key of every requested kind, read from the credentials Secret (table order)."""
    return secret_env(run, tuple(key for kind in requested_kinds(run) for key in kind.env_keys))
