"""Background processes tracked by PID files, and polling with a deadline.

A PID file holds "<pid> <start time in clock ticks>" so that stopping never signals a recycled PID:
a process is only signalled when both numbers still match /proc. Nothing is ever stopped by name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class Timeout(RuntimeError):
    pass


def wait_for(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.2,
              hint: Callable[[], str] | None = None) -> None:
    """Poll `check` until it returns True; raise Timeout (with `hint()` appended) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # a probe that cannot connect yet is just "not ready"
            pass
        if time.monotonic() >= deadline:
            extra = f"\n{hint()}" if hint else ""
            raise Timeout(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of a live PID, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[19])


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return f"--- last lines of {path} ---\n" + "\n".join(text[-lines:])


class Processes:
    """Start named processes detached from the caller, and find or stop them again later."""

    def __init__(self, pid_dir: Path, log_dir: Path) -> None:
        self.pid_dir = pid_dir
        self.log_dir = log_dir

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, argv: Sequence[str | Path], env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> int:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                [str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=full_env, cwd=cwd, start_new_session=True,
            )
        stat = _proc_stat(proc.pid)
        started = stat[1] if stat else 0
        (self.pid_dir / f"{name}.pid").write_text(f"{proc.pid} {started}\n")
        # what it takes to start it again (ctl.py restart NAME)
        (self.pid_dir / f"{name}.json").write_text(json.dumps(
            {"argv": [str(a) for a in argv], "env": dict(env or {}), "cwd": str(cwd) if cwd else None}))
        return proc.pid

    def argv(self, name: str) -> list[str]:
        """The command line a tracked process was started with."""
        saved: list[str] = json.loads((self.pid_dir / f"{name}.json").read_text())["argv"]
        return saved

    def restart(self, name: str, extra_args: Sequence[str] = (), drop: Callable[[str], bool] | None = None) -> int:
        """Stop and start again with the same arguments, less those `drop` selects, plus `extra_args` it
        does not have yet."""
        saved = json.loads((self.pid_dir / f"{name}.json").read_text())
        self.stop(name)
        cwd = Path(saved["cwd"]) if saved["cwd"] else None
        kept = [a for a in saved["argv"] if drop is None or not drop(a)]
        argv = kept + [a for a in extra_args if a not in kept]
        return self.start(name, argv, env=saved["env"], cwd=cwd)

    def pid(self, name: str) -> int | None:
        """PID of a tracked process that is still the one we started and not a zombie."""
        path = self.pid_dir / f"{name}.pid"
        try:
            pid_text, start_text = path.read_text().split()
        except (FileNotFoundError, ValueError):
            return None
        pid, started = int(pid_text), int(start_text)
        stat = _proc_stat(pid)
        if stat is None or stat[1] != started or stat[0] in ("Z", "X"):
            return None
        return pid

    def alive(self, name: str) -> bool:
        return self.pid(name) is not None

    def tracked(self) -> list[str]:
        if not self.pid_dir.is_dir():
            return []
        entries = sorted(self.pid_dir.glob("*.pid"), key=lambda p: p.stat().st_mtime)
        return [p.stem for p in entries]

    def stop(self, name: str, grace: float = 10.0) -> None:
        pid = self.pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            try:
                wait_for(f"{name} (pid {pid}) to exit", lambda: self.pid(name) is None, grace)
            except Timeout:
                if (pid := self.pid(name)) is not None:
                    os.kill(pid, signal.SIGKILL)
                    wait_for(f"{name} (pid {pid}) to die", lambda: self.pid(name) is None, 5.0)
        (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)

    def stop_all(self) -> None:
        """Stop every tracked process, most recently started first."""
        for name in reversed(self.tracked()):
            self.stop(name)
