"""deploy/systemd/tekton-runner.service: systemd's own checker accepts it without a warning, its
hardening scores "OK" in systemd's offline security analysis, and its EnvironmentFile example holds
valid runner settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tekton_runner.models.environment import settings_from_env

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNIT = SYSTEMD_DIR / "tekton-runner.service"
INSTALLED_BINARY = "/opt/tekton-runner/bin/tekton-runner"


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("systemd-analyze")
    assert binary, "systemd-analyze is missing: bash scripts/test-tools.sh installs it"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False)


def local_copy(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this checkout's binary (verify checks that it is executable)."""
    here = shutil.which("tekton-runner") or str(Path(__file__).resolve().parents[2] / ".venv/bin/tekton-runner")
    unit = tmp_path / UNIT.name
    unit.write_text((text or UNIT.read_text()).replace(INSTALLED_BINARY, here))
    return unit


def test_systemd_verify_accepts_the_unit_without_warnings(tmp_path: Path) -> None:
    assert f"ExecStart={INSTALLED_BINARY} serve" in UNIT.read_text()
    done = analyze("verify", str(local_copy(tmp_path)))
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_verify_would_catch_a_mistyped_option(tmp_path: Path) -> None:
    """Positive control: the check above fails on the kind of mistake it is there for."""
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict")
    done = analyze("verify", str(local_copy(tmp_path, broken)))
    assert "Unknown key" in done.stderr


def test_hardening_scores_ok_in_systemds_security_analysis(tmp_path: Path) -> None:
    # systemd's exposure scale is 0-10 (shown) or 0-100 (--threshold): below 2.0 is "OK".
    done = analyze("security", "--offline=yes", "--threshold=20", str(local_copy(tmp_path)))
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overall exposure level for tekton-runner.service" in done.stdout


def test_the_settings_file_example_is_valid_runner_settings() -> None:
    assert "EnvironmentFile=/etc/tekton-runner/runner.env" in UNIT.read_text()
    pairs = {}
    for line in (SYSTEMD_DIR / "runner.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    settings = settings_from_env(pairs)
    assert settings.registry and settings.public_url and settings.kubeconfig == pairs["KUBECONFIG"]
