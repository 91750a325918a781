"""The dependency kinds a run may request, one table entry each; read by the request model, the
dependency, migration and app steps and the image lookup. Adding a kind: an entry here, its template in
manifests/, its golden file (docs/architecture.md, "Adding a dependency kind")."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .settings import Settings

# (the kind's Service host, its port, the credentials Secret as stored) -> the kind's keys and values
Credentials = Callable[[str, int, Mapping[str, str]], dict[str, str]]


class Readiness(StrEnum):
    """When the dependency step counts a kind as ready."""

    DEPLOYMENT_READY = "deployment-ready"  # its Deployment `<app>-<kind>` reports every replica ready


@dataclass(frozen=True)
class DependencyKind:
    """One kind of dependency: what it deploys, the image it runs, what the app is given."""

    name: str  # in `dependencies`, the component label, and the object name `<app>-<name>`
    template: str  # manifests/<template>: a Deployment and a Service named `<app>-<name>`
    image_setting: str  # the Settings field with its image (TEKTON_RUNNER_<FIELD>)
    port: int  # the Service port, also written into the kind's env keys
    env_keys: tuple[str, ...]  # the keys of the credentials Secret the app and the migration get
    credentials: Credentials  # makes the values of env_keys, reusing stored passwords
    readiness: Readiness = Readiness.DEPLOYMENT_READY
    database: bool = False  # a migration Job may run against it (migration.enabled needs one)

    def credentials_for(self, host: str, existing: Mapping[str, str]) -> dict[str, str]:
        values = self.credentials(host, self.port, existing)
        if set(values) != set(self.env_keys):
            raise ValueError(f"the {self.name} credentials give {sorted(values)}, not {sorted(self.env_keys)}")
        return values

    def image(self, settings: Settings) -> str:
        """The image reference as configured (before the Docker Hub mirror is applied)."""
        value = getattr(settings, self.image_setting)
        if not isinstance(value, str):
            raise TypeError(f"Settings.{self.image_setting} is not an image reference")
        return value


def stored_or_new_password(existing: Mapping[str, str], key: str) -> str:
    """A new password over an old data volume is a login failure, so a stored one is always reused."""
    return existing.get(key) or secrets.token_urlsafe(24)


def _redis(host: str, port: int, existing: Mapping[str, str]) -> dict[str, str]:
    password = stored_or_new_password(existing, "REDIS_PASSWORD")
    return {
        "REDIS_URL": f"redis://:{password}@{host}:{port}/0",
        "REDIS_HOST": host, "REDIS_PORT": str(port), "REDIS_PASSWORD": password,
    }


PG_USER = PG_DATABASE = "app"


def _postgres(host: str, port: int, existing: Mapping[str, str]) -> dict[str, str]:
    password = stored_or_new_password(existing, "PGPASSWORD")
    return {
        "DATABASE_URL": f"postgresql://{PG_USER}:{password}@{host}:{port}/{PG_DATABASE}",
        "PGHOST": host, "PGPORT": str(port), "PGUSER": PG_USER, "PGPASSWORD": password, "PGDATABASE": PG_DATABASE,
    }


RABBITMQ_USER = "app"


def _rabbitmq(host: str, port: int, existing: Mapping[str, str]) -> dict[str, str]:
    password = stored_or_new_password(existing, "RABBITMQ_PASSWORD")
    return {
        # %2F: the default virtual host "/" (an empty path would name the virtual host "").
        "AMQP_URL": f"amqp://{RABBITMQ_USER}:{password}@{host}:{port}/%2F",
        "RABBITMQ_HOST": host, "RABBITMQ_PORT": str(port), "RABBITMQ_USER": RABBITMQ_USER,
        "RABBITMQ_PASSWORD": password,
    }


KINDS: dict[str, DependencyKind] = {kind.name: kind for kind in (
    DependencyKind(
        name="redis", template="redis.yaml.j2", image_setting="redis_image", port=6379,
        env_keys=("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"), credentials=_redis,
    ),
    DependencyKind(
        name="postgres", template="postgres.yaml.j2", image_setting="postgres_image", port=5432,
        env_keys=("DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"),
        credentials=_postgres, database=True,
    ),
    DependencyKind(
        name="rabbitmq", template="rabbitmq.yaml.j2", image_setting="rabbitmq_image", port=5672,
        env_keys=("AMQP_URL", "RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_PASSWORD"),
        credentials=_rabbitmq,
    ),
)}

# Every key the runner sets from a dependency; a request's app.env may not set them.
DEPENDENCY_ENV_KEYS = frozenset(key for kind in KINDS.values() for key in kind.env_keys)
DATABASE_KINDS = tuple(name for name, kind in KINDS.items() if kind.database)


def kinds_named(names: Iterable[str]) -> tuple[DependencyKind, ...]:
    """The kinds of `names` in table order (the order they are deployed in); KeyError for an unknown one."""
    wanted = set(names)
    unknown = wanted - KINDS.keys()
    if unknown:
        raise KeyError(f"unknown dependency kinds {sorted(unknown)}")
    return tuple(kind for name, kind in KINDS.items() if name in wanted)
