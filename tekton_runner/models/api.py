"""The shapes of the API's answers and query strings; handlers build their JSON from them and /openapi.json
describes them, so the document cannot drift from what the runner sends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .apps import AppRegistration
from .ids import RUN_ID_PATTERN
from .runs import Endpoint, RunState, Step
from .spec import RunSpec

STATE_LIST_PATTERN = "^({0})(,({0}))*$".format("|".join(state.value for state in RunState))


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldError(Answer):
    field: str = Field(description="Dotted path of the field, e.g. `app.name`, or a query parameter or header")
    reason: str


class Error(Answer):
    """Every 4xx and 5xx answer."""

    error: str = Field(description="A stable code such as `invalid`, `not_found`, `too_large`")
    message: str
    fields: list[FieldError] | None = Field(default=None, description="With `invalid`: each field and why")


class RunLinks(Answer):
    self_: str = Field(alias="self")
    endpoint: str | None = Field(default=None, description="Present once the run has an endpoint")


class RunSummary(Answer):
    """A run as lists and POST /run show it."""

    run_id: str
    state: RunState
    reason: str
    message: str
    workspace: str
    app: str
    links: RunLinks


class RunDetail(RunSummary):
    """A run with its steps, image, digest, endpoint and request."""

    image: str
    digest: str | None
    deployed_image: str
    event_id: str | None
    taskrun_uid: str | None
    endpoint: Endpoint | None
    created_at: datetime
    updated_at: datetime
    steps: list[Step]
    spec: RunSpec
    redeploy_of: str | None  # the run whose image this run deployed again (POST /runs/{id}/redeploy)


class RunList(Answer):
    runs: list[RunSummary]
    next: str | None = Field(default=None, description="The last run of this page, as `cursor` for the next "
                                                        "(with the same filters); null on the last page")


class Query(BaseModel):
    """A query string: unknown parameters are ignored (caches and UIs add their own)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class RunsQuery(Query):
    """GET /runs filters."""

    state: str | None = Field(default=None, pattern=STATE_LIST_PATTERN,
                              description="Comma-separated run states, e.g. `building,failed`")
    workspace: str | None = None
    app: str | None = None
    limit: int | None = Field(default=None, description="At most this many runs (default 100, clamped to 1..1000)")
    cursor: str | None = Field(default=None, pattern=RUN_ID_PATTERN.pattern,
                               description="A previous page's `next`: the page starts after that run")


class EventsQuery(Query):
    """GET /runs/{id}/events: where to resume when the Last-Event-ID header is not sent."""

    after: str | None = Field(default=None, pattern=r"^[0-9]{1,15}$",
                              description="Resume after this transition number (as Last-Event-ID does)")


class LogsQuery(Query):
    """GET /runs/{id}/logs: whose logs, and whether to follow them."""

    step: Literal["build", "migration", "app"] = Field(
        default="build", description="`build`: every Tekton step container of the build pod, in order; "
        "`migration`: the migration Job's pod; `app`: the app Deployment's pods")
    follow: Literal["0", "1", "false", "true"] = Field(
        default="0", description="`1`: keep streaming until the containers end (or the follow limit is reached)")

    @property
    def following(self) -> bool:
        return self.follow in ("1", "true")


class UploadReceipt(Answer):
    upload_id: str
    size: int
    sha256: str


class AppLinks(Answer):
    self_: str = Field(alias="self")
    runs: str


class AppView(Answer):
    """A registered app: what /apps lists and returns."""

    id: str
    workspace: str
    app: str
    repository: str
    branch: str
    image_repository: str
    trigger: str = Field(description="The Triggers Trigger the runner applied for the app's pushes")
    registration: AppRegistration
    created_at: datetime
    updated_at: datetime
    links: AppLinks


class AppList(Answer):
    apps: list[AppView]


class AppDeleted(Answer):
    id: str
    deleted: bool


class EndpointQuery(Query):
    workspace: Annotated[str, Field(min_length=1)]
    app: Annotated[str, Field(min_length=1)]


class Address(Answer):
    address: str | None
    reachable: bool | None = Field(description="A TCP connect made while answering; null without an address")


class ExternalAddress(Address):
    port: int | None


class EndpointView(Answer):
    workspace: str
    app: str
    run_id: str | None
    host_local: Address
    external: ExternalAddress


class ExternalMapping(Answer):
    """One external port, its target and (when this process relays it) its traffic counters."""

    workspace: str
    app: str
    run_id: str | None
    external_port: int
    external: str
    target: str | None
    updated_at: datetime
    state: str = Field(description="The relay's state, `not-relayed` when this process does not relay the port")
    path: Literal["dnat", "splice", "asyncio"] | None = Field(
        default=None, description="What carries the port: `dnat` (an nftables rule), `splice` or `asyncio` (the "
        "relay in this process); absent when this process does not carry it")
    bytes_to_target: int | None = None
    bytes_to_client: int | None = None
    connections_active: int | None = None
    connections_total: int | None = None
    connect_failures: int | None = None
    last_error: str | None = None


class ExternalMap(Answer):
    host: str
    mappings: list[ExternalMapping]


class WorkspaceView(Answer):
    name: str
    namespace: str
    provisioner: str
    kubeconfig: str | None
    apps: list[str]
    live_runs: list[str]
    last_activity: datetime | None
    external_ports: list[int]


class WorkspaceList(Answer):
    workspaces: list[WorkspaceView]


class WorkspaceRemoved(Answer):
    workspace: str
    runs_ended: list[str]
    ports_released: list[int]


class Health(Answer):
    status: str
    role: str = "single"  # single (no election), leader, or follower (answers the API, runs no chains)


class Readiness(Answer):
    ready: bool
    checks: dict[str, str]
    role: str = "single"


class EventAnswer(Answer):
    """What the CloudEvents sink answers Tekton."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(description="`accepted`, `duplicate` or `ignored`")

