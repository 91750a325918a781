"""Representative values for every runner template, as the chain passes them."""

from __future__ import annotations

from typing import Any

from tekton_runner.models.dependencies import KINDS
from tekton_runner.models.settings import Settings

LABELS = {
    "tekton-runner.io/run-id": "r-0123456789abcdef", "tekton-runner.io/workspace": "demo",
    "tekton-runner.io/app": "shop", "app.kubernetes.io/managed-by": "tekton-runner",
}
# Each kind's default image setting, so a new kind's golden file shows what it runs out of the box.
DEFAULT_IMAGES = {name: str(Settings.model_fields[kind.image_setting].default) for name, kind in KINDS.items()}
IMAGE = "harbor.test/library/demo-shop@sha256:" + "ab" * 32


# Dedicated preview nodes, as TEKTON_RUNNER_NODE_SELECTOR and _TOLERATIONS give them to every workspace pod.
PLACEMENT = {
    "node_selector": {"node-role.example.com/previews": "true"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "previews", "effect": "NoSchedule"}],
}
POD_TEMPLATES = ("redis.yaml.j2", "postgres.yaml.j2", "rabbitmq.yaml.j2", "migration-job.yaml.j2", "app.yaml.j2")


def values(template: str, *, env_value: str = "hello", command: list[str] | None = None) -> dict[str, Any]:
    common = {"namespace": "ws-demo", "labels": LABELS, "pull_secrets": [{"name": "harbor-pull"}], **PLACEMENT}
    secret_env = [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "shop-deps", "key": "DATABASE_URL"}}}]
    return {
        "dependency-secret.yaml.j2": {**common, "name": "shop-deps", "data": {"PGPASSWORD": "c2VjcmV0"}},
        **{kind.template: {**common, "name": f"shop-{name}", "selector": {"tekton-runner.io/app": "shop"},
                           "image": DEFAULT_IMAGES[name], "port": kind.port, "secret": "shop-deps"}
           for name, kind in KINDS.items()},
        "migration-job.yaml.j2": {**common, "name": "shop-migrate-01234567", "image": IMAGE,
                                  "command": command or ["./manage.py", "migrate"], "env": secret_env},
        "app.yaml.j2": {**common, "name": "shop", "selector": {"tekton-runner.io/app": "shop"},
                        "pod_labels": LABELS, "image": IMAGE, "replicas": 1, "port": 8080,
                        "env": [{"name": "GREETING", "value": env_value}, *secret_env]},
    }[template]


RUNNER_TEMPLATES = (
    "dependency-secret.yaml.j2", *(kind.template for kind in KINDS.values()),
    "migration-job.yaml.j2", "app.yaml.j2",
)
