"""The POST /run request body, validated at the edge; called by the run handlers and the chain."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from .ids import DNS_LABEL_PATTERN, UPLOAD_ID_PATTERN

# ws-<workspace> must itself be a DNS label (63 chars), and <app>-postgres a Service name.
DnsLabel = Annotated[str, Field(min_length=1, max_length=40, pattern=DNS_LABEL_PATTERN.pattern)]
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV = frozenset(
    {"REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "DATABASE_URL", "PGHOST", "PGPORT",
     "PGUSER", "PGPASSWORD", "PGDATABASE"}
)
SCP_LIKE_GIT = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+$")
# What git_url accepts; the OpenAPI document carries the same pattern.
GIT_URL_PATTERN = (r"^(?:(?:https|ssh|git)://(?:[A-Za-z0-9._~%!$&'()*+,;=:-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
                   r"(?::[0-9]{1,5})?(?:[/?#][\x21-\x7e]*)?|" + SCP_LIKE_GIT.pattern[1:-1] + r")$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
REPOSITORY_PATTERN = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)


# Rules the validators below enforce, written as JSON Schema for the OpenAPI document.
RELATIVE_PATH_PATTERN = r"^(?!/)(?!(?:.*/)?\.\.(?:/|$))[^\x00]*$"
ABSOLUTE_PATH_PATTERN = r"^/[^\x00]*$"


def _json_integer(value: object) -> object:
    """A JSON integer: 8080 or 8080.0 (JSON Schema counts both), never "8080" or true."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class Strict(BaseModel):
    """A request model: unknown fields are refused and values are taken as sent (no trimming, no coercion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _relative_path(value: str, field: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\x00" in value:
        raise ValueError(f"{field} must be a relative path inside the source, without '..'")
    return value


def git_url(value: str) -> str:
    """https://, ssh:// or git:// with a host, or scp-like user@host:path; file://, http:// and others are refused."""
    if not re.fullmatch(GIT_URL_PATTERN, value):
        raise ValueError("must be an https://, ssh:// or git:// URL (or user@host:path)")
    return value


class BuildPaths(Strict):
    """Where the build finds its context and Dockerfile inside the source."""

    context: str = Field(default=".", max_length=1024, json_schema_extra={"pattern": RELATIVE_PATH_PATTERN})
    dockerfile: str = Field(default="Dockerfile", max_length=1024,
                            json_schema_extra={"pattern": RELATIVE_PATH_PATTERN})

    @field_validator("context", "dockerfile")
    @classmethod
    def _inside(cls, value: str) -> str:
        return _relative_path(value, "path")


class GitSource(BuildPaths):
    type: Literal["git"]
    url: str = Field(min_length=1, max_length=2048, json_schema_extra={"pattern": GIT_URL_PATTERN})
    revision: str = Field(default="main", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/@^~-]+$")

    @field_validator("url")
    @classmethod
    def _git_url(cls, value: str) -> str:
        return git_url(value)


class ZipSource(BuildPaths):
    type: Literal["zip"]
    upload_id: str = Field(pattern=UPLOAD_ID_PATTERN.pattern)


class LocalSource(BuildPaths):
    type: Literal["local"]
    path: str = Field(min_length=1, max_length=4096, json_schema_extra={"pattern": ABSOLUTE_PATH_PATTERN})

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not PurePosixPath(value).is_absolute() or "\x00" in value:
            raise ValueError("must be an absolute path on the runner's host")
        return value


Source = Annotated[GitSource | ZipSource | LocalSource, Field(discriminator="type")]


class AppSpec(Strict):
    name: DnsLabel
    port: JsonInt = Field(default=8080, ge=1, le=65535)
    env: dict[str, Annotated[str, Field(max_length=32768)]] = Field(
        default_factory=dict, max_length=256, json_schema_extra={"propertyNames": {
            "pattern": ENV_NAME_PATTERN.pattern, "not": {"enum": list[JsonValue](sorted(RESERVED_ENV))}}})
    replicas: JsonInt = Field(default=1, ge=1, le=10)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME_PATTERN.match(name):
                raise ValueError(f"env name {name!r} is not a valid environment variable name")
            if name in RESERVED_ENV:
                raise ValueError(f"env name {name!r} is set by the runner from the dependency")
        return value


class ImageSpec(Strict):
    repository: str | None = Field(default=None, max_length=255,
                                   json_schema_extra={"pattern": REPOSITORY_PATTERN.pattern})
    tag: str | None = Field(default=None, max_length=128, json_schema_extra={"pattern": TAG_PATTERN.pattern})

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and not REPOSITORY_PATTERN.match(value):
            raise ValueError("must be a lowercase image repository such as harbor.local/library/shop")
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is not None and not TAG_PATTERN.match(value):
            raise ValueError("must be a valid image tag ([A-Za-z0-9_.-], at most 128 characters)")
        return value


class DependencyType(StrEnum):
    NONE = "none"
    REDIS = "redis"
    SQL = "sql"
    BOTH = "both"

    @property
    def wants_redis(self) -> bool:
        return self in (DependencyType.REDIS, DependencyType.BOTH)

    @property
    def wants_sql(self) -> bool:
        return self in (DependencyType.SQL, DependencyType.BOTH)


class DependencySpec(Strict):
    type: DependencyType = DependencyType.NONE


class MigrationSpec(Strict):
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]},
        "then": {"properties": {"command": {"minItems": 1}}, "required": ["command"]},
    })

    enabled: StrictBool = False
    command: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=64, validate_default=True
    )

    @field_validator("command")
    @classmethod
    def _command_when_enabled(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("enabled") and not value:
            raise ValueError("is required when the migration is enabled")
        return value


class ExposeSpec(Strict):
    # Constraints before the validator, or pydantic writes them into the schema as `ge`/`le`.
    external_port: Annotated[int, Field(ge=1024, le=65535), BeforeValidator(_json_integer)] | None = None


def migration_needs_sql(value: MigrationSpec, info: ValidationInfo) -> MigrationSpec:
    """A migration runs against the workspace's database, so it needs dependency sql or both."""
    dependency = info.data.get("dependency")
    if value.enabled and (dependency is None or not dependency.type.wants_sql):
        raise ValueError("enabled requires dependency.type 'sql' or 'both'")
    return value


class DeploySpec(Strict):
    """What to deploy where, shared by a run (POST /run) and a registered app (POST /apps)."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"migration": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]}},
               "required": ["migration"]},
        "then": {"properties": {"dependency": {"properties": {"type": {"enum": ["sql", "both"]}},
                                               "required": ["type"]}},
                 "required": ["dependency"]},
    })

    workspace: DnsLabel
    app: AppSpec
    image: ImageSpec = Field(default_factory=ImageSpec)
    dependency: DependencySpec = Field(default_factory=DependencySpec)
    migration: MigrationSpec = Field(default_factory=MigrationSpec)
    expose: ExposeSpec = Field(default_factory=ExposeSpec)

    _migration_needs_sql = field_validator("migration")(migration_needs_sql)


class RunSpec(DeploySpec):
    """What POST /run accepts."""

    source: Source
