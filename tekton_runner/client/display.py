"""How `submit --follow` shows a run: a live step table with log lines above it on a terminal (rich),
plain lines when the output is piped or redirected."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Protocol, Self, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from .progress import Transition

Json = dict[str, Any]
_STYLES = {"succeeded": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("-", "dim"), "pending": ("·", "dim"),
           "deleted": ("✗", "yellow")}


class Display(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def transition(self, transition: Transition) -> None: ...

    def log(self, line: str) -> None: ...

    def note(self, text: str) -> None: ...


def describe(transition: Transition) -> str:
    """One line: `build: running (Started)`, `run: failed (build:StepFailed: ...)`."""
    subject = transition.step or "run"
    detail = ": ".join(part for part in (transition.reason, transition.message) if part)
    return f"{subject}: {transition.state}" + (f" ({detail})" if detail else "")


class PlainDisplay:
    """One line per transition and per log line, nothing rewritten: for pipes, files and CI logs."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._out.flush()

    def transition(self, transition: Transition) -> None:
        self._print(describe(transition))

    def log(self, line: str) -> None:
        self._print(line)

    def note(self, text: str) -> None:
        self._print(text)

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


class LiveDisplay:
    """The steps as a table redrawn in place, with log lines and notes scrolling above it."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console()
        self._run: Json | None = None
        self._live = Live(self._render(), console=self._console, refresh_per_second=8, transient=False)

    def __enter__(self) -> Self:
        self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.update(self._render(), refresh=True)
        self._live.__exit__(kind, error, tb)

    def transition(self, transition: Transition) -> None:
        self._run = transition.run
        self._live.update(self._render())

    def log(self, line: str) -> None:
        self._console.print(Text(line), highlight=False, markup=False)

    def note(self, text: str) -> None:
        self._console.print(Text(text, style="bold"), highlight=False, markup=False)

    def _render(self) -> Group | Text:
        if self._run is None:
            return Text("submitting…", style="dim")
        table = Table.grid(padding=(0, 1))
        for step in self._run.get("steps", []):
            table.add_row(self._mark(step["state"]), Text(step["name"], style="bold"),
                          Text(step["state"]), Text(step["message"] or step["reason"], style="dim", overflow="ellipsis",
                                                    no_wrap=True))
        heading = Text(f"run {self._run['run_id']}: {self._run['state']}", style="bold")
        return Group(heading, table)

    @staticmethod
    def _mark(state: str) -> Spinner | Text:
        if state == "running":
            return Spinner("dots", style="cyan")
        symbol, style = _STYLES.get(state, ("?", ""))
        return Text(symbol, style=style)


def display_for(stream: TextIO | None = None) -> Display:
    """A live display on a terminal, plain lines otherwise."""
    out = stream or sys.stdout
    if out.isatty():
        return LiveDisplay(Console(file=out))
    return PlainDisplay(out)
