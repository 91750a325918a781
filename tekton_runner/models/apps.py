"""Registered apps (POST /apps): a repository branch whose pushes Tekton builds and the runner deploys."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .spec import (
    GIT_URL_PATTERN,
    RELATIVE_PATH_PATTERN,
    BuildPaths,
    DeploySpec,
    DnsLabel,
    RunSpec,
    Strict,
    git_url,
)

NO_EXPRESSION = r"\$\("  # Tekton Triggers would evaluate $(...)
APP_ID_MAX = 44  # build-<app id>-<12 hex> must stay a 63-character name
TRIGGER_PREFIX = "tekton-runner-app-"  # an app's webhook Trigger is tekton-runner-app-<app id>


def app_id_for(workspace: str, app: str) -> str:
    """`<workspace>-<app>` when it fits, else a shortened prefix and a hash: stable for the same pair."""
    name = f"{workspace}-{app}"
    if len(name) <= APP_ID_MAX:
        return name
    digest = hashlib.sha256(f"{workspace}/{app}".encode()).hexdigest()[:12]
    return f"{name[: APP_ID_MAX - 13].rstrip('-')}-{digest}"


class FollowedSource(BuildPaths):
    """The repository and branch whose pushes are built."""

    url: str = Field(min_length=1, max_length=2048,
                     json_schema_extra={"pattern": GIT_URL_PATTERN, "not": {"pattern": NO_EXPRESSION}})
    branch: str = Field(default="main", min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")
    context: str = Field(default=".", max_length=1024,
                         json_schema_extra={"pattern": RELATIVE_PATH_PATTERN, "not": {"pattern": NO_EXPRESSION}})
    dockerfile: str = Field(default="Dockerfile", max_length=1024,
                            json_schema_extra={"pattern": RELATIVE_PATH_PATTERN, "not": {"pattern": NO_EXPRESSION}})

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return git_url(value)

    @field_validator("url", "branch", "context", "dockerfile")
    @classmethod
    def _no_expression(cls, value: str) -> str:
        if "$(" in value:
            raise ValueError("may not contain '$(' (Tekton Triggers would evaluate it)")
        return value


class WebhookSecret(Strict):
    name: DnsLabel = "tekton-runner-github-webhook"
    key: str = Field(default="secret", min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")


class AppRegistration(DeploySpec):
    """What POST /apps accepts: a /run request without a revision, plus the branch to follow."""

    source: FollowedSource
    webhook: WebhookSecret = Field(default_factory=WebhookSecret)

    @property
    def app_id(self) -> str:
        return app_id_for(self.workspace, self.app.name)

    def run_spec(self, revision: str) -> RunSpec:
        """The /run request a push to `revision` stands for."""
        deployment = DeploySpec.model_fields.keys()
        return RunSpec.model_validate({
            **self.model_dump(include=set(deployment)),
            "source": {"type": "git", "url": self.source.url, "revision": revision,
                       "context": self.source.context, "dockerfile": self.source.dockerfile},
        })


class RegisteredApp(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    registration: AppRegistration
    image_repository: str
    created_at: datetime
    updated_at: datetime

