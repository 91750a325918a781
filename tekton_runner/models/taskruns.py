"""What the runner reads of a Tekton TaskRun, from a CloudEvent body or from the API server."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

RUN_ID_LABEL = "tekton-runner.io/run-id"
WORKSPACE_LABEL = "tekton-runner.io/workspace"
APP_LABEL = "tekton-runner.io/app"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
APP_ID_LABEL = "tekton-runner.io/app-id"  # TaskRuns built from a push to a registered app
GIT_REVISION_LABEL = "tekton-runner.io/git-revision"
MANAGER = "tekton-runner"
# Set by Tekton Triggers on every resource an EventListener creates (pkg/resources/create.go).
EVENTLISTENER_LABEL = "triggers.tekton.dev/eventlistener"
TRIGGER_LABEL = "triggers.tekton.dev/trigger"
# Tekton names each step's container `step-<step>`; init containers and sidecars hold no step output.
STEP_PREFIX = "step-"

TASKRUN_EVENT_PREFIX = "dev.tekton.event.taskrun."
# The TaskRun event kinds Tekton sends; anything else is counted as `other`, so metric labels stay bounded.
EVENT_KINDS = frozenset({"started", "running", "successful", "failed", "unknown"})


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Condition(_Loose):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = Field(default=None, alias="lastTransitionTime")


class Result(_Loose):
    name: str
    value: Any = None


class Metadata(_Loose):
    name: str
    namespace: str = ""
    uid: str = ""
    creation_timestamp: datetime | None = Field(default=None, alias="creationTimestamp")
    labels: dict[str, str] = Field(default_factory=dict)


class Param(_Loose):
    name: str
    value: Any = None


class Spec(_Loose):
    params: list[Param] = Field(default_factory=list)


class Status(_Loose):
    conditions: list[Condition] = Field(default_factory=list)
    completion_time: datetime | None = Field(default=None, alias="completionTime")
    pod_name: str = Field(default="", alias="podName")
    results: list[Result] = Field(default_factory=list)  # tekton.dev/v1
    task_results: list[Result] = Field(default_factory=list, alias="taskResults")  # v1beta1 (events)


class TaskRunView(_Loose):
    """The fields of a TaskRun (v1 object or the v1beta1 copy inside an event) the runner uses."""

    metadata: Metadata
    spec: Spec = Field(default_factory=Spec)
    status: Status = Field(default_factory=Status)

    @property
    def run_id(self) -> str | None:
        """The run's id: the label /run's TaskRuns carry, or for a push build one derived from the uid."""
        labelled = self.metadata.labels.get(RUN_ID_LABEL)
        if labelled:
            return labelled
        if self.app_id and self.metadata.uid:
            return "r-" + hashlib.sha256(self.metadata.uid.encode()).hexdigest()[:16]
        return None

    @property
    def app_id(self) -> str | None:
        return self.metadata.labels.get(APP_ID_LABEL)

    @property
    def pushed(self) -> bool:
        """Built from a git push to a registered app, not from POST /run."""
        return RUN_ID_LABEL not in self.metadata.labels and self.app_id is not None

    def param(self, name: str) -> str | None:
        for param in self.spec.params:
            if param.name == name and isinstance(param.value, str):
                return param.value
        return None

    @property
    def succeeded_condition(self) -> Condition | None:
        for condition in self.status.conditions:
            if condition.type == "Succeeded":
                return condition
        return None

    @property
    def outcome(self) -> Outcome:
        """Terminal only when Tekton says so: a False condition without completionTime may still recover."""
        condition = self.succeeded_condition
        if condition is None:
            return Outcome.RUNNING
        if condition.status == "True":
            return Outcome.SUCCEEDED
        if condition.status == "False" and self.status.completion_time is not None:
            return Outcome.FAILED
        return Outcome.RUNNING

    def result(self, name: str) -> str | None:
        for result in (*self.status.results, *self.status.task_results):
            if result.name == name and isinstance(result.value, str) and result.value:
                return result.value.strip()
        return None

    @property
    def digest(self) -> str | None:
        value = self.result("IMAGE_DIGEST")
        if value and value.startswith("sha256:") and len(value) == 71:
            return value
        return None


class TaskRunEvent(_Loose):
    """A Tekton TaskRun CloudEvent, parsed at the edge."""

    id: str
    type: str
    taskrun: TaskRunView

    @property
    def kind(self) -> str:
        """`dev.tekton.event.taskrun.successful.v1` -> `successful`; `other` for any kind Tekton does not send."""
        kind = self.type.removeprefix(TASKRUN_EVENT_PREFIX).split(".", 1)[0]
        return kind if kind in EVENT_KINDS else "other"
