"""Run and step state as the store keeps it and the API shows it; written only through the chain's status writer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .ids import EventId, RunId
from .images import ImageReference
from .spec import RunSpec


class RunState(StrEnum):
    PENDING = "pending"  # stored; the build request is not yet accepted by the EventListener
    BUILDING = "building"  # accepted; waiting for the TaskRun to end
    DEPLOYING = "deploying"  # build succeeded; post-build chain running
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DELETED = "deleted"

    @property
    def terminal(self) -> bool:
        return self in (RunState.SUCCEEDED, RunState.FAILED, RunState.DELETED)


class StepName(StrEnum):
    BUILD = "build"
    DEPENDENCY = "dependency"
    MIGRATION = "migration"
    APP = "app"
    FORWARD = "forward"


CHAIN_STEPS: tuple[StepName, ...] = (
    StepName.DEPENDENCY,
    StepName.MIGRATION,
    StepName.APP,
    StepName.FORWARD,
)


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        return self in (StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED)


class Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: StepName
    state: StepState = StepState.PENDING
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0  # tries so far: 1 when started, one more after each failed attempt that is retried
    due_at: datetime | None = None  # a waiting or retrying step is looked at again then


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    namespace: str
    service: str
    node_port: int | None = None
    host_local: str | None = None  # 127.0.0.1:<nodePort> or <node address>:<nodePort>
    external_port: int | None = None
    external: str | None = None  # <HOST_IP>:<external_port>


class Run(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: RunId
    spec: RunSpec
    state: RunState
    reason: str = ""
    message: str = ""
    image: str  # the reference the build pushes, <repository>:<tag>
    digest: str | None = None  # sha256:... reported by the build
    event_id: EventId | None = None  # the EventListener's eventID for our build request
    taskrun_uid: str | None = None
    endpoint: Endpoint | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None
    redeploy_of: RunId | None = None  # the earlier run whose digest-pinned image this run deploys again
    pushed: bool = False  # made by a git push to a registered app (not by POST /run)
    steps: tuple[Step, ...] = Field(default_factory=tuple)

    @property
    def workspace(self) -> str:
        return self.spec.workspace

    @property
    def app(self) -> str:
        return self.spec.app.name

    @property
    def pinned_image(self) -> str:
        """The image the workspace runs: by digest when the build reported one."""
        if self.digest:
            return ImageReference.parse(self.image).pinned(self.digest)
        return self.image

    def step(self, name: StepName) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        return Step(name=name)
