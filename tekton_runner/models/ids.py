"""Identifier types and their generators, used by every layer."""

from __future__ import annotations

import re
import secrets
from typing import NewType

RunId = NewType("RunId", str)
UploadId = NewType("UploadId", str)
EventId = NewType("EventId", str)

RUN_ID_PATTERN = re.compile(r"^r-[0-9a-f]{16}$")
UPLOAD_ID_PATTERN = re.compile(r"^u-[0-9a-f]{16}$")
DNS_LABEL_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def new_run_id() -> RunId:
    return RunId("r-" + secrets.token_hex(8))


def new_upload_id() -> UploadId:
    return UploadId("u-" + secrets.token_hex(8))


def packed_upload_id(run_id: str) -> UploadId:
    """Where a run's packed local source is kept when uploads are held in the database."""
    return UploadId(f"packed-{run_id}")


def is_run_id(value: str) -> bool:
    return RUN_ID_PATTERN.match(value) is not None


def workspace_namespace(workspace: str) -> str:
    """The namespace that holds a workspace's objects."""
    return f"ws-{workspace}"


def taskrun_name(run_id: RunId) -> str:
    """The deterministic TaskRun name the TriggerTemplate gives a run's build."""
    return f"build-{run_id}"
