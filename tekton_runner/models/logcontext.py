"""Run fields bound to every log line of a run: a ContextVar set where a run is handled, and the filter and
JSON formatter that print them (bound by `chain` and `handlers`, installed by the CLI)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Literal

from .runs import Run

# The fields a line of a run can carry, in the order JSON lines print them.
FIELDS = ("run_id", "workspace", "app", "step", "taskrun")
LogFormat = Literal["text", "json"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_bound: ContextVar[Mapping[str, str]] = ContextVar("tekton_runner_log_fields", default=_EMPTY)


def bound() -> Mapping[str, str]:
    """The fields bound in the current context (tasks inherit the context they were started from)."""
    return _bound.get()


@contextmanager
def _bound_to(fields: Mapping[str, str]) -> Iterator[None]:
    token = _bound.set(MappingProxyType(dict(fields)))
    try:
        yield
    finally:
        _bound.reset(token)


def bind(**fields: str | None) -> AbstractContextManager[None]:
    """Adds fields to every log line inside the block; None leaves a field as it was."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log fields: {sorted(unknown)}")
    return _bound_to({**_bound.get(), **{name: value for name, value in fields.items() if value is not None}})


def bind_run(run: Run, *, step: str | None = None, taskrun: str | None = None) -> AbstractContextManager[None]:
    """The fields of one run (id, workspace, app, step, TaskRun), replacing whatever was bound, so a chain
    started from an event handler does not carry the handler's step. The TaskRun already bound for this
    run is kept when none is given (a push build's TaskRun name is known only from its events)."""
    current = _bound.get()
    if taskrun is None and current.get("run_id") == run.id:
        taskrun = current.get("taskrun")
    fields = {"run_id": run.id, "workspace": run.workspace, "app": run.app}
    fields.update((name, value) for name, value in (("step", step), ("taskrun", taskrun)) if value is not None)
    return _bound_to(fields)


class RunFieldsFilter(logging.Filter):
    """Copies the bound fields onto each record (attribute `run_fields`), so any formatter can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_fields"):
            record.run_fields = dict(_bound.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the run fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields: Mapping[str, str] = getattr(record, "run_fields", None) or _bound.get()
        line.update((name, fields[name]) for name in FIELDS if name in fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The default: a readable line, with the run fields appended in brackets when there are any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields: Mapping[str, str] = getattr(record, "run_fields", None) or _bound.get()
        if not fields:
            return text
        head, sep, tail = text.partition("\n")  # keep a traceback below the bracketed fields
        tags = " ".join(f"{name}={fields[name]}" for name in FIELDS if name in fields)
        return f"{head} [{tags}]{sep}{tail}"


def configure(*, level: int, format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """Installs one handler on the root logger that prints lines in `format` with the bound run fields."""
    handler: logging.Handler = logging.StreamHandler(stream)
    handler.addFilter(RunFieldsFilter())
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
