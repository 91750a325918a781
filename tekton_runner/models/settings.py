"""Service settings from flags and TEKTON_RUNNER_* environment variables; read by the CLI and app factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tekton-runner"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "0.0.0.0"
    port: int = 8088
    data_dir: Path = Field(default_factory=_default_data_dir)
    database: str | None = None  # an SQLite path; default <data_dir>/state.sqlite3
    kubeconfig: str | None = None  # default: $KUBECONFIG, ~/.kube/config, then in-cluster
    eventlistener_url: str = "http://127.0.0.1:8080/"
    # Site settings with no sensible default: start-up refuses to guess them (see REQUIRED).
    registry: str = Field(min_length=1, description="the image prefix builds push to, e.g. harbor.example.com/library")
    registry_scheme: str = "https"  # how the runner reads digests from the registry when a build reports none
    registry_verify_tls: bool = True
    registry_username: str | None = None
    registry_password: str | None = None
    public_host: str = "127.0.0.1"  # HOST_IP: where users reach external ports
    public_url: str = Field(min_length=1, description=(
        "how build pods reach this runner (zip and local sources), e.g. http://runner.example.com:8088"))
    token: str | None = None
    # The sink then answers only at /cloudevents/<secret> (set the same URL in Tekton's config-events).
    events_path_secret: str | None = Field(default=None, min_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    # The largest TaskRun event the sink reads (docs/security.md says how this was measured).
    max_event_bytes: int = Field(default=256 * 1024, ge=16 * 1024)
    event_retention: float = 7 * 24 * 3600.0  # processed-event records are kept this long
    events_per_subject: int = Field(default=64, ge=4)  # and at most this many per run or app
    # Token services (Bearer realms) besides the registry host itself that may receive its credentials.
    registry_token_realms: tuple[str, ...] = ()
    eventlistener_name: str = "tekton-runner"  # the EventListener per-app webhook Triggers attach to
    build_namespace: str = "tekton-builds"  # where TaskRuns are created (triggers/settings.env)
    local_roots: tuple[Path, ...] = ()
    max_upload_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    max_request_bytes: int = 1024 * 1024
    body_read_timeout: float = Field(default=30.0, gt=0)  # a body with no new bytes for this long gets 408
    chain_concurrency: int = 4
    resync_seconds: float = 30.0
    taskrun_appear_timeout: float = 120.0  # an accepted build request must yield a TaskRun by then
    build_timeout: float = 3600.0
    dispatch_deadline: float = 600.0  # how long an unaccepted build request is retried
    ready_timeout: float = 300.0  # dependency / migration / app readiness
    poll_interval: float = 2.0  # how often readiness is read back from the cluster
    external_port_range: tuple[int, int] = (18000, 18999)
    node_address: str | None = None  # override for the workspace node address behind NodePorts
    redis_image: str = "redis:7-alpine"
    postgres_image: str = "postgres:16-alpine"
    image_pull_secret: str | None = None
    forward: bool = True  # relay external ports in this process
    forward_listen_host: str = "0.0.0.0"  # where external ports listen
    shutdown_grace: float = 10.0  # running chains get this long to finish before they are cancelled
    log_format: Literal["text", "json"] = "text"  # json: one object per line with the run's fields

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.data_dir / "state.sqlite3"

    @property
    def registry_host(self) -> str:
        """The host[:port] of `registry`: the one host the registry credentials are sent to."""
        return self.registry.split("/", 1)[0]

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    def packed_source(self, run_id: str) -> Path:
        """Where a run's local source directory is packed for the build to download."""
        return self.uploads_dir / f"{run_id}.zip"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")


ENV_PREFIX = "TEKTON_RUNNER_"
REQUIRED = tuple(name for name, field in Settings.model_fields.items() if field.is_required())


def missing_settings(error: ValidationError) -> list[str]:
    """`TEKTON_RUNNER_<NAME>: <what it is>` for each required setting the validation error says is unset."""
    missing = [str(item["loc"][0]) for item in error.errors() if item["type"] == "missing" and item["loc"]]
    return [f"{ENV_PREFIX}{name.upper()} ({Settings.model_fields[name].description})"
            for name in missing if name in REQUIRED]


def settings_from_env(environ: dict[str, str] | os._Environ[str], **overrides: object) -> Settings:
    """Settings from TEKTON_RUNNER_<FIELD> variables (and KUBECONFIG), then explicit overrides."""
    values: dict[str, object] = {}
    for name, field in Settings.model_fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if field.annotation in (tuple[Path, ...],):
            values[name] = tuple(Path(p) for p in raw.split(os.pathsep) if p)
        elif field.annotation in (tuple[str, ...],):
            values[name] = tuple(item.strip() for item in raw.split(",") if item.strip())
        elif name == "external_port_range":
            low, _, high = raw.partition("-")
            values[name] = (int(low), int(high or low))
        else:
            values[name] = raw
    if "kubeconfig" not in values and environ.get("KUBECONFIG"):
        values["kubeconfig"] = environ["KUBECONFIG"]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.model_validate(values)
