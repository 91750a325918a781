"""One change in a run's life as users follow it: a run or step transition, numbered per run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from .ids import RunId


class Subject(StrEnum):
    RUN = "run"
    STEP = "step"


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: RunId
    seq: int = 0  # 1, 2, 3... per run, given by the store; a client resumes after the last one it saw
    at: datetime
    subject: Subject
    step: str | None = None  # the step's name when subject is step
    state: str  # the run's state, or the step's
    reason: str = ""
    message: str = ""
