"""The service's one settings tree: `Settings` with the workspace part nested; built by `models/environment.py`."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .images import ImageReference
from .placement import Toleration, parse_node_selector, parse_tolerations

ProvisionerKind = Literal["namespace", "kind"]
# How external ports carry traffic: auto takes nftables DNAT where the host and the target allow it and the
# splice relay otherwise (the asyncio relay where splice is missing); the others force one path.
ForwardEngine = Literal["auto", "dnat", "splice", "asyncio"]

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")
_PATH_PART = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_PATH_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,}$")
_ALL_ADDRESSES = {"0.0.0.0", "::", "[::]", ""}


def parse_flag(raw: object) -> object:
    """`1/true/yes/on` and `0/false/no/off` (empty: false) as a bool; anything else is refused."""
    if not isinstance(raw, str):
        return raw
    lowered = raw.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise ValueError(f"must be true or false, not {raw!r}")
    return lowered in _TRUE


def _blank_is_unset(raw: object) -> object:
    return None if isinstance(raw, str) and not raw.strip() else raw


def _nft_table(raw: object) -> object:
    raw = _blank_is_unset(raw)
    if isinstance(raw, str) and not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,31}$", raw):
        raise ValueError("must be a letter, then up to 31 letters, digits or '_' (an nftables table name)")
    return raw


def _postgres_url(raw: object) -> object:
    raw = _blank_is_unset(raw)
    text = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
    if isinstance(text, str) and urlsplit(text).scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql://user:password@host:port/database URL (unset: the SQLite file)")
    return raw


def _path(raw: object) -> object:
    return Path(os.path.expanduser(raw)) if isinstance(raw, str) else raw


def _port_range(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    low, _, high = raw.partition("-")
    return (int(low), int(high or low))


def _paths(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    return tuple(Path(os.path.expanduser(part)) for part in raw.split(os.pathsep) if part)


def _comma_list(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _names(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    return frozenset(item.strip() for item in raw.split(",") if item.strip())


Flag = Annotated[bool, BeforeValidator(parse_flag)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_unset)]
UserPath = Annotated[Path, BeforeValidator(_path)]
OptionalPath = Annotated[Path | None, BeforeValidator(_path), BeforeValidator(_blank_is_unset)]
PortRange = Annotated[tuple[int, int], BeforeValidator(_port_range)]
OptionalPortRange = Annotated[tuple[int, int] | None, BeforeValidator(_port_range), BeforeValidator(_blank_is_unset)]


def reveal(secret: SecretStr | None) -> str | None:
    """The secret's text, for the one place that sends or compares it."""
    return secret.get_secret_value() if secret is not None else None


def server_location(url: str) -> str:
    """A PostgreSQL URL as logs may show it: host, port and database, never the user or the password."""
    parts = urlsplit(url)
    return f"postgresql://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def registry_host_of(repository: str) -> str:
    """The host[:port] of an image repository such as `harbor.lan:8443/library`."""
    return ImageReference.parse(repository).host


@dataclass(frozen=True)
class WorkspaceSettings:
    """Provisioner, registry access as the workspace nodes see it, kind, idle TTL (docs/workspaces.md)."""

    # Harbor as the workspace nodes see it: host[:port], no scheme, no path (from TEKTON_RUNNER_REGISTRY).
    registry_host: str = field(kw_only=True)
    provisioner: ProvisionerKind = "namespace"
    registry_username: OptionalText = None
    registry_password: SecretStr | None = field(default=None, repr=False)
    registry_docker_config: OptionalPath = None  # an existing ~/.docker/config.json-style file
    registry_ca_file: OptionalPath = None  # PEM bundle the nodes trust for the registry
    registry_insecure: Flag = False  # TLS without verification
    registry_http: Flag = False  # plain HTTP registry
    registry_address: OptionalText = None  # IP the kind nodes use for the registry host; None: resolve here
    mirror_prefix: OptionalText = None  # a Harbor proxy-cache project for Docker Hub, e.g. lenovo:8443/dockerhub-proxy
    pull_secret: str = "harbor-pull"
    kind_binary: str = "kind"
    kind_kubeconfig_dir: OptionalPath = None
    kind_state_dir: OptionalPath = None
    kind_node_image: OptionalText = None
    kind_wait: float = 300.0
    kind_node_ports: OptionalPortRange = None  # host-published NodePort range, split between clusters
    kind_ports_per_workspace: int = 10
    kind_listen_address: str = "127.0.0.1"
    idle_ttl: float | None = None  # seconds without a run before a workspace is removed
    pinned: Annotated[frozenset[str], BeforeValidator(_names)] = frozenset()  # never removed by the idle TTL

    @field_validator("registry_password", mode="before")
    @classmethod
    def _blank_password_is_unset(cls, raw: object) -> object:
        return _blank_is_unset(raw)

    def __post_init__(self) -> None:
        if self.provisioner not in get_args(ProvisionerKind):
            raise ValueError(f"provisioner must be one of {get_args(ProvisionerKind)}, not {self.provisioner!r}")
        if not _HOST.match(self.registry_host):
            raise ValueError(f"registry_host must be host[:port] (no scheme, no path), not {self.registry_host!r}")
        if self.mirror_prefix is not None:
            host, _, path = self.mirror_prefix.strip("/").partition("/")
            if not _HOST.match(host) or not all(_PATH_PART.match(part) for part in path.split("/") if path):
                raise ValueError(f"mirror_prefix must be host[:port]/project, not {self.mirror_prefix!r}")
        if (self.registry_username is None) != (self.registry_password is None):
            raise ValueError("registry_username and registry_password go together")
        if self.registry_docker_config is not None and self.registry_username is not None:
            raise ValueError("give either registry_docker_config or a username and password, not both")
        if self.kind_node_ports is not None:
            low, high = self.kind_node_ports
            if not 1 <= low <= high <= 65535:
                raise ValueError(f"kind_node_ports {low}-{high} is not a port range")
            if high - low + 1 < self.kind_ports_per_workspace:
                raise ValueError("kind_node_ports is smaller than kind_ports_per_workspace")
        if self.kind_ports_per_workspace < 1:
            raise ValueError("kind_ports_per_workspace must be at least 1")
        if self.idle_ttl is not None and self.idle_ttl <= 0:
            raise ValueError("idle_ttl must be positive (leave it unset to keep workspaces)")

    @property
    def has_credentials(self) -> bool:
        return self.registry_username is not None or self.registry_docker_config is not None

    @property
    def pull_secret_name(self) -> str | None:
        """The imagePullSecret every workspace gets, or None when no registry credentials are configured."""
        return self.pull_secret if self.has_credentials else None

    @property
    def registry_scheme(self) -> str:
        return "http" if self.registry_http else "https"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tekton-runner"


class Settings(BaseSettings):
    """Every setting of `tekton-runner serve`; only `settings_from_env` reads the environment."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    host: str = "0.0.0.0"
    port: int = 8088
    data_dir: UserPath = Field(default_factory=_default_data_dir)
    database: OptionalText = None  # an SQLite path; default <data_dir>/state.sqlite3
    # postgresql://user:password@host:port/dbname: the store several replicas share (docs/scaling.md);
    # unset, the store is the SQLite file above. A secret: it may carry the password.
    database_url: Annotated[SecretStr | None, BeforeValidator(_postgres_url)] = None
    database_pool_size: int = Field(default=10, ge=1)  # connections each replica keeps to PostgreSQL
    kubeconfig: OptionalText = None  # default: $KUBECONFIG, ~/.kube/config, then in-cluster
    eventlistener_url: str = "http://127.0.0.1:8080/"
    # Site settings with no sensible default: start-up refuses to guess them.
    registry: str = Field(min_length=1, description="the image prefix builds push to, e.g. harbor.example.com/library")
    public_host: str = "127.0.0.1"  # HOST_IP: where users reach external ports
    public_url: str = Field(min_length=1, description=(
        "how build pods reach this runner (zip and local sources), e.g. http://runner.example.com:8088"))
    token: SecretStr | None = None  # set: a bearer token every route but the open ones requires
    # The sink then answers only at /cloudevents/<secret> (set the same URL in Tekton's config-events).
    events_path_secret: SecretStr | None = None
    # The largest TaskRun event the sink reads (docs/security.md says how this was measured).
    max_event_bytes: int = Field(default=256 * 1024, ge=16 * 1024)
    event_retention: float = 7 * 24 * 3600.0  # processed-event records are kept this long
    events_per_subject: int = Field(default=64, ge=4)  # and at most this many per run or app
    max_followers: int = Field(default=1000, ge=1)  # open GET /runs/{id}/events streams, all runs together
    keepalive_seconds: float = Field(default=15.0, gt=0)  # a comment on an idle stream, so proxies keep it
    follow_seconds: float = Field(default=3600.0, gt=0)  # an event stream ends after this; clients resume
    # Token services (Bearer realms) besides the registry host itself that may receive its credentials.
    registry_token_realms: Annotated[tuple[str, ...], BeforeValidator(_comma_list)] = ()
    eventlistener_name: str = "tekton-runner"  # the EventListener per-app webhook Triggers attach to
    build_namespace: str = "tekton-builds"  # where TaskRuns are created (common/settings.env build_namespace)
    local_roots: Annotated[tuple[Path, ...], BeforeValidator(_paths)] = ()
    max_upload_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    max_request_bytes: int = 1024 * 1024
    body_read_timeout: float = Field(default=30.0, gt=0)  # a body with no new bytes for this long gets 408
    chain_concurrency: int = 4
    resync_seconds: float = 30.0
    taskrun_appear_timeout: float = 120.0  # an accepted build request must yield a TaskRun by then
    dispatch_deadline: float = 600.0  # how long an unaccepted build request is retried
    # Build requests the EventListener may hold before its TaskRun rate is measured (chain/build/pacing.py);
    # then as many as it is seen to turn into TaskRuns in half the appear timeout.
    dispatch_min_window: int = Field(default=20, ge=1)
    dispatch_retry_delay: float = Field(default=1.0, ge=0)  # back-off while the EventListener turns requests away
    dispatch_retry_max_delay: float = Field(default=30.0, ge=0)
    ready_timeout: float = 300.0  # dependency / migration / app readiness
    poll_interval: float = 2.0  # how often readiness is read back from the cluster
    # The forward step waits at most this long for the app's NodePort to accept a TCP connection from this
    # host before the run succeeds (kube-proxy programs it a moment after the app turns ready); 0: no check.
    reach_timeout: float = Field(default=30.0, ge=0)
    external_port_range: PortRange = (18000, 18999)
    node_address: OptionalText = None  # override for the workspace node address behind NodePorts
    # Dependency images (models/dependencies.py names each kind's field); Docker Hub ones go through the mirror.
    redis_image: str = "redis:7-alpine"
    postgres_image: str = "postgres:16-alpine"
    rabbitmq_image: str = "rabbitmq:4-alpine"
    image_pull_secret: OptionalText = None
    # Where the workspace pods run (app, dependencies, migration Job): dedicated nodes and their taints.
    node_selector: Annotated[dict[str, str], BeforeValidator(parse_node_selector)] = Field(default_factory=dict)
    tolerations: Annotated[tuple[Toleration, ...], BeforeValidator(parse_tolerations)] = ()
    forward: Flag = True  # relay external ports in this process
    forward_listen_host: str = "0.0.0.0"  # where external ports listen
    forward_engine: ForwardEngine = "auto"  # docs/forwarding.md: the kernel path and when it is chosen
    # The nft table the kernel path owns; default tekton_runner_<8 hex digits of the database path>.
    forward_nft_table: Annotated[str | None, BeforeValidator(_nft_table)] = None
    shutdown_grace: float = 10.0  # running chains get this long to finish before they are cancelled
    log_format: Literal["text", "json"] = "text"  # json: one object per line with the run's fields
    # GET /runs/{id}/logs: the most bytes one request streams, the follows open at once, and how long one
    # follow (waiting for its pod included) is held before it is ended.
    logs_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    logs_max_follows: int = Field(default=32, ge=1)
    logs_follow_timeout: float = Field(default=3600.0, gt=0)
    # Outgoing notifications (docs/notifications.md): a CloudEvent per run and step transition to notify_url,
    # and commit statuses of push runs on GitHub when github_token is set (sent to github_api only).
    notify_url: OptionalText = None
    notify_attempts: int = Field(default=8, ge=1)  # tries per notification before it is dropped
    notify_retry_delay: float = Field(default=1.0, ge=0)  # the first back-off; it doubles up to the maximum
    notify_retry_max_delay: float = Field(default=60.0, ge=0)
    github_token: SecretStr | None = None
    github_api: str = Field(default="https://api.github.com", pattern=r"^https?://[^/?#@\s]+(/[^?#\s]*)?$")
    # Replicas (docs/scaling.md): with leader_election on, replicas elect one leader through a Lease; off
    # (the default, one replica) this process leads from the start and no Lease is read or written.
    leader_election: Flag = False
    lease_name: str = Field(default="tekton-runner", min_length=1)
    lease_namespace: str = Field(default="tekton-runner", min_length=1)  # deploy/: the runner's own namespace
    lease_duration: float = Field(default=15.0, gt=0)  # others take a Lease not renewed for this long
    lease_renew_deadline: float = Field(default=10.0, gt=0)  # the leader stops leading after failing this long
    lease_retry_period: float = Field(default=2.0, gt=0)  # renewals and attempts to acquire
    lease_identity: OptionalText = None  # default <hostname>_<pid> (in a pod the hostname is the pod's name)
    # how often the leader reads work other replicas stored; also how often each replica reads others' run
    # transitions when nothing notifies it (SQLite, or a lost PostgreSQL listening connection)
    handover_seconds: float = Field(default=1.0, gt=0)
    workspaces: WorkspaceSettings  # defaults follow `registry` and `data_dir` (see below)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Built from its arguments only: the environment is read once, by settings_from_env.
        return (init_settings,)

    @field_validator("events_path_secret", mode="before")
    @classmethod
    def _path_secret_is_strong(cls, raw: object) -> object:
        value = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if isinstance(value, str) and not _PATH_SECRET.match(value):
            raise ValueError("must be at least 16 characters of A-Z, a-z, 0-9, '_' and '-' (it is a URL path segment)")
        return raw

    @field_validator("notify_url")
    @classmethod
    def _notify_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/?#\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("github_token", mode="before")
    @classmethod
    def _github_token_is_usable(cls, raw: object) -> object:
        value = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if isinstance(value, str) and (not value or not all("!" <= char <= "~" for char in value)):
            raise ValueError("must be visible ASCII characters without spaces (unset it to send no commit statuses)")
        return raw

    @field_validator("token", mode="before")
    @classmethod
    def _token_is_usable(cls, raw: object) -> object:
        value = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("is set but empty: unset it to serve without authentication, or give a token")
            if not all("!" <= char <= "~" for char in value):
                raise ValueError("must be visible ASCII characters without spaces (it is sent in a header)")
        return raw

    @model_validator(mode="before")
    @classmethod
    def _workspace_defaults_follow_the_runner(cls, data: Any) -> Any:
        if not isinstance(data, dict) or isinstance(data.get("workspaces"), WorkspaceSettings):
            return data
        data_dir = _path(data.get("data_dir") or _default_data_dir())
        workspaces: dict[str, Any] = {
            "kind_kubeconfig_dir": Path(str(data_dir)) / "kubeconfigs",
            "kind_state_dir": Path(str(data_dir)) / "kind",
        }
        registry = data.get("registry")
        if isinstance(registry, str) and registry.strip():
            try:
                workspaces["registry_host"] = registry_host_of(registry)
            except ValueError:
                pass  # the registry field reports it
        return {**data, "workspaces": {**workspaces, **(data.get("workspaces") or {})}}

    @model_validator(mode="after")
    def _lease_timing_is_ordered(self) -> Settings:
        if not 0 < self.lease_retry_period < self.lease_renew_deadline < self.lease_duration:
            raise ValueError("lease timing must satisfy lease_retry_period < lease_renew_deadline < lease_duration")
        return self

    @property
    def identity(self) -> str:
        """Who this replica is in the Lease."""
        return self.lease_identity or f"{socket.gethostname()}_{os.getpid()}"

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.data_dir / "state.sqlite3"

    @property
    def state_location(self) -> str:
        """Where the state lives, for logs: the PostgreSQL server and database without credentials, or the file."""
        if self.database_url is None:
            return str(self.database_path)
        return server_location(self.database_url.get_secret_value())

    @property
    def nft_table(self) -> str:
        """One table per state database: the table mirrors that database's port mappings."""
        if self.forward_nft_table:
            return self.forward_nft_table
        digest = hashlib.sha256(str(self.database_path.absolute()).encode()).hexdigest()[:8]
        return f"tekton_runner_{digest}"

    @property
    def registry_host(self) -> str:
        """The host[:port] of `registry`: the one host the registry credentials are sent to."""
        return registry_host_of(self.registry)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def packed_source(self, run_id: str) -> Path:
        """Where a run's local source directory is packed for the build to download."""
        return self.uploads_dir / f"{run_id}.zip"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")



def weakened_security(settings: Settings) -> list[str]:
    """Each setting that lowers the service's guard, in words an operator acts on; logged at start."""
    found: list[str] = []
    if settings.token is None:
        found.append(f"TEKTON_RUNNER_TOKEN is not set: every route on {settings.host}:{settings.port} is open "
                     "to anyone who can reach it")
    workspaces = settings.workspaces
    if workspaces.registry_http:
        found.append(f"the registry {workspaces.registry_host} is read over plain HTTP "
                     "(TEKTON_RUNNER_REGISTRY_HTTP / TEKTON_RUNNER_REGISTRY_SCHEME=http): credentials and "
                     "digests travel unprotected")
    elif workspaces.registry_insecure:
        found.append(f"TLS certificates of the registry {workspaces.registry_host} are not verified "
                     "(TEKTON_RUNNER_REGISTRY_INSECURE / TEKTON_RUNNER_REGISTRY_VERIFY_TLS=false)")
    if settings.forward and settings.forward_listen_host in _ALL_ADDRESSES:
        found.append("external ports listen on all addresses (TEKTON_RUNNER_FORWARD_LISTEN_HOST="
                     f"{settings.forward_listen_host or '<empty>'}): every deployed app is reachable from "
                     "any network this host is on")
    if workspaces.provisioner == "kind" and workspaces.kind_node_ports is not None \
            and workspaces.kind_listen_address in _ALL_ADDRESSES:
        found.append("kind NodePorts are published on all addresses (TEKTON_RUNNER_KIND_LISTEN_ADDRESS="
                     f"{workspaces.kind_listen_address or '<empty>'})")
    if settings.events_path_secret is None:
        found.append("TEKTON_RUNNER_EVENTS_PATH_SECRET is not set: POST /cloudevents takes events from anyone who "
                     "can reach it (they only make the runner read its own TaskRuns; docs/security.md shows how "
                     "to close the sink)")
    for realm in settings.registry_token_realms:
        found.append(f"registry credentials are also sent to the token service {realm} "
                     "(TEKTON_RUNNER_REGISTRY_TOKEN_REALMS)")
    if settings.github_token is not None and settings.github_api.startswith("http://"):
        found.append(f"the GitHub token is sent over plain HTTP to {settings.github_api} (TEKTON_RUNNER_GITHUB_API)")
    if any(root == Path(root.anchor) for root in settings.local_roots):
        found.append("TEKTON_RUNNER_LOCAL_ROOTS contains a filesystem root: any directory of this host can be "
                     "sent to a build")
    return found
