"""The image build is reproducible: the base image is pinned by digest, dependencies come from
requirements.lock with a hash for each, the lock covers every runtime dependency of pyproject.toml, the
final stage carries no wheels, and .dockerignore keeps everything else out of the build context."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def locked() -> dict[str, list[str]]:
    """Package name -> its hashes, from requirements.lock."""
    entries: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            assert "==" in line, f"not pinned: {line}"
            current = name_of(line)
            entries[current] = []
        elif "--hash=sha256:" in line:
            entries[current].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def test_every_runtime_dependency_is_locked_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    entries = locked()
    missing = {name_of(dep) for dep in project["dependencies"]} - set(entries)
    assert not missing, f"in pyproject.toml but not in requirements.lock: {missing}"
    for name, hashes in entries.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


def test_the_dockerfile_pins_its_base_and_installs_only_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", base.group(1)), "base image not pinned by digest"
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    installs = re.findall(r"pip install [^\n]*", text)
    assert any("--require-hashes" in line and "-r requirements.lock" in line for line in installs)
    assert all("--require-hashes" in line or "--no-deps" in line for line in installs), installs
    final = text.rsplit("FROM ", 1)[1]
    assert "wheel" not in final.lower() and "COPY --from=build /opt/tekton-runner /opt/tekton-runner" in final
    assert "EXPOSE 8088 18000-18999" in final


def test_the_build_context_holds_only_what_the_build_copies() -> None:
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line[0] == "#"]
    assert rules[0] == "*"
    allowed = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.MULTILINE):
        copied |= set(source.split())
    assert copied == allowed
