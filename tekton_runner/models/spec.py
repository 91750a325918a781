"""The POST /run request body, validated at the edge; called by the run handlers and the chain."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .dependencies import DATABASE_KINDS, DEPENDENCY_ENV_KEYS, KINDS
from .ids import DNS_LABEL_PATTERN, UPLOAD_ID_PATTERN

# ws-<workspace> must itself be a DNS label (63 chars), and <app>-<dependency kind> a Service name.
DnsLabel = Annotated[str, Field(min_length=1, max_length=40, pattern=DNS_LABEL_PATTERN.pattern)]
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV = DEPENDENCY_ENV_KEYS  # set by the runner from the requested dependencies
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
    """The older `dependency.type`, still accepted: each value stands for a list of kinds."""

    NONE = "none"
    REDIS = "redis"
    SQL = "sql"
    BOTH = "both"

    @property
    def kinds(self) -> tuple[str, ...]:
        return _LEGACY_KINDS[self]


_LEGACY_KINDS = {
    DependencyType.NONE: (), DependencyType.REDIS: ("redis",), DependencyType.SQL: ("postgres",),
    DependencyType.BOTH: ("redis", "postgres"),
}


class DependencySpec(Strict):
    type: DependencyType = DependencyType.NONE


def dependency_names(value: tuple[str, ...]) -> tuple[str, ...]:
    """Known kinds, each once, in table order (the order they are deployed in)."""
    unknown = [name for name in value if name not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}; known: {', '.join(KINDS)}")
    repeated = sorted({name for name in value if value.count(name) > 1})
    if repeated:
        raise ValueError(f"{repeated[0]!r} is given more than once")
    return tuple(name for name in KINDS if name in value)


def alias_disagrees(value: DependencySpec, info: ValidationInfo) -> DependencySpec:
    """Reached only when `dependency` is given beside a valid `dependencies` that it does not match:
    the request model drops the alias before validation in every other case."""
    given = info.data.get("dependencies")
    if given is not None:
        raise ValueError(f"type {value.type.value!r} stands for {list(value.type.kinds)}, which disagrees with "
                         f"dependencies {list(given)}; give one of the two")
    return value


def dependency_alias(data: Any) -> Any:
    """`dependency: {type}` becomes `dependencies` and is dropped; it stays in the data only when it is
    invalid (its own validation reports it) or when a `dependencies` is also given and does not name the
    same kinds (then `alias_disagrees` reports it, or `dependencies` its own error)."""
    if not isinstance(data, dict) or "dependency" not in data:
        return data
    try:
        alias = DependencySpec.model_validate(data["dependency"])
    except ValidationError:
        return data
    rest = {key: value for key, value in data.items() if key != "dependency"}
    if "dependencies" not in data:
        return {**rest, "dependencies": list(alias.type.kinds)}
    given = data["dependencies"]
    if isinstance(given, list | tuple) and all(isinstance(name, str) for name in given) \
            and sorted(given) == sorted(alias.type.kinds):
        return rest
    return data


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


def migration_needs_database(value: MigrationSpec, info: ValidationInfo) -> MigrationSpec:
    """A migration runs against the workspace's database, so a database kind must be requested."""
    kinds = info.data.get("dependencies")
    if value.enabled and (kinds is None or not set(kinds) & set(DATABASE_KINDS)):
        raise ValueError(f"enabled requires {' or '.join(map(repr, DATABASE_KINDS))} in dependencies "
                         "(dependency.type 'sql' or 'both')")
    return value


def _dependency_schema() -> dict[str, JsonValue]:
    """The request rules about dependencies the validators enforce, as JSON Schema for the OpenAPI document."""
    database: JsonValue = {"enum": list[JsonValue](DATABASE_KINDS)}
    rules: list[JsonValue] = [{
        "if": {"properties": {"migration": {"properties": {"enabled": {"const": True}}, "required": ["enabled"]}},
               "required": ["migration"]},
        "then": {"anyOf": [
            {"properties": {"dependencies": {"contains": database}}, "required": ["dependencies"]},
            {"properties": {"dependency": {"properties": {"type": {"enum": ["sql", "both"]}}, "required": ["type"]}},
             "required": ["dependency"]},
        ]},
    }]
    for legacy in DependencyType:
        kinds = legacy.kinds
        # `type` absent means "none", so only the other values require it.
        type_rule: dict[str, JsonValue] = {"properties": {"type": {"const": legacy.value}}}
        if legacy is not DependencyType.NONE:
            type_rule["required"] = ["type"]
        same: dict[str, JsonValue] = {"minItems": len(kinds), "maxItems": len(kinds)}
        if kinds:
            same["allOf"] = [{"contains": {"const": name}} for name in kinds]
        rules.append({"if": {"properties": {"dependency": type_rule}, "required": ["dependency", "dependencies"]},
                      "then": {"properties": {"dependencies": same}}})
    return {"allOf": rules}


class DeploySpec(Strict):
    """What to deploy where, shared by a run (POST /run) and a registered app (POST /apps)."""

    # One schema for requests and answers, so the OpenAPI components keep their names (RunSpec, not
    # RunSpec-Input/-Output); answers simply never carry the input-only `dependency`.
    model_config = ConfigDict(json_schema_extra=_dependency_schema(), json_schema_mode_override="validation")

    workspace: DnsLabel
    app: AppSpec
    image: ImageSpec = Field(default_factory=ImageSpec)
    dependencies: tuple[str, ...] = Field(default=(), max_length=len(KINDS), json_schema_extra={
        "items": {"type": "string", "enum": list[JsonValue](KINDS)}, "uniqueItems": True})
    # The older spelling of `dependencies`: accepted on input, mapped by `dependency_alias`, never stored
    # or shown (so a valid model always holds the default here).
    dependency: DependencySpec = Field(default_factory=DependencySpec, exclude=True,
                                       description=(
        "older spelling of `dependencies` (none, redis, sql, both); accepted in requests, never in answers"))
    migration: MigrationSpec = Field(default_factory=MigrationSpec)
    expose: ExposeSpec = Field(default_factory=ExposeSpec)

    _dependency_alias = model_validator(mode="before")(dependency_alias)
    _dependency_names = field_validator("dependencies")(dependency_names)
    _alias_disagrees = field_validator("dependency")(alias_disagrees)
    _migration_needs_database = field_validator("migration")(migration_needs_database)


class RunSpec(DeploySpec):
    """What POST /run accepts."""

    source: Source
