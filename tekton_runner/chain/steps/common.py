"""What several steps share: the pull secret, env entries read from the credentials Secret, the env keys."""

from __future__ import annotations

from typing import Any

from ...models.runs import Run
from .. import naming
from ..context import ChainContext

SQL_KEYS = ("DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
REDIS_KEYS = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD")


def pull_secrets(ctx: ChainContext) -> list[dict[str, str]]:
    name = ctx.settings.image_pull_secret or ctx.settings.workspaces.pull_secret_name
    return [{"name": name}] if name else []


def secret_env(run: Run, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": naming.secret_name(run), "key": key}}}
        for key in keys
    ]
