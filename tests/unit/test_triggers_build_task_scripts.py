"""The build Task's step scripts, run on this machine the way the step container runs them (the script
file with the step's environment): the fetch step checks out git revisions and unpacks archives and
refuses contexts outside the source; the build steps pass the right arguments to Kaniko and Buildah
(stand-in executables record them). Only loopback traffic: a local git repository and a local HTTP
server for the archive."""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import stat
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_triggers_support import find_object, triggers_objects

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("git", "wget", "unzip", "realpath", "bash")),
    reason="needs git, wget, unzip, realpath and bash",
)


def step(task: str, name: str) -> dict[str, Any]:
    found = find_object(triggers_objects(), "Task", task)
    return next(item for item in found["spec"]["steps"] if item["name"] == name)


def run_script(
    script: str, env: dict[str, str], tmp: Path, args: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp / "step-script"
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    interpreter = script.splitlines()[0][2:].strip()
    if not Path(interpreter).exists():
        # busybox's sh is not on this machine; the script is POSIX sh.
        interpreter = "/bin/sh"
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        [interpreter, str(path), *(args or [])],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return done.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Path, str, str]:
    """A git repository with two commits on main: the first has services/web/Dockerfile v1."""
    repo = tmp_path / "origin"
    (repo / "services" / "web").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "services" / "web" / "Dockerfile").write_text("FROM scratch\n# v1\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "services" / "web" / "Dockerfile").write_text("FROM scratch\n# v2\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    second = git("rev-parse", "HEAD", cwd=repo)
    return repo, first, second


def fetch_env(tmp: Path, **values: str) -> dict[str, str]:
    env = {
        "SOURCE_TYPE": "git",
        "GIT_URL": "",
        "GIT_REVISION": "",
        "ARCHIVE_URL": "",
        "CONTEXT": ".",
        "DOCKERFILE": "Dockerfile",
        "SOURCE_DIR": str(tmp / "workspace" / "src"),
        "REVISION_RESULT": str(tmp / "result-revision"),
    }
    env.update(values)
    return env


FETCH = step("tekton-runner-build", "fetch-source")["script"]


def test_fetch_checks_out_the_requested_commit_and_reports_it(
    repository: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, first, _ = repository
    env = fetch_env(tmp_path, GIT_URL=f"file://{repo}", GIT_REVISION=first, CONTEXT="services/web")
    done = run_script(FETCH, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "workspace/src/services/web/Dockerfile").read_text().endswith("# v1\n")
    assert (tmp_path / "result-revision").read_text() == first


def test_fetch_follows_a_branch_name_or_the_default_branch(repository: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _, second = repository
    for revision in ("main", ""):
        env = fetch_env(tmp_path, GIT_URL=f"file://{repo}", GIT_REVISION=revision, CONTEXT="services/web")
        done = run_script(FETCH, env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "result-revision").read_text() == second


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def make_zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)


@pytest.mark.parametrize("source_type", ["zip", "local"])
def test_fetch_unpacks_the_archive_from_the_one_time_url(source_type: str, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    make_zip(served / "source.zip", {"app/Dockerfile": "FROM scratch\n", "app/main.py": "print(1)\n"})
    with serve(served) as base:
        env = fetch_env(tmp_path, SOURCE_TYPE=source_type, ARCHIVE_URL=f"{base}/source.zip", CONTEXT="app")
        done = run_script(FETCH, env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "workspace/src/app/main.py").read_text() == "print(1)\n"
    assert (tmp_path / "result-revision").read_text() == ""


def test_archive_members_cannot_escape_the_source_directory(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    make_zip(served / "source.zip", {"Dockerfile": "FROM scratch\n", "../../escaped.txt": "x"})
    with serve(served) as base:
        done = run_script(FETCH, fetch_env(tmp_path, SOURCE_TYPE="zip", ARCHIVE_URL=f"{base}/source.zip"), tmp_path)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "workspace" / "escaped.txt").exists()
    assert done.returncode == 0 or "escaped" in done.stderr


def test_a_failed_download_fails_the_step(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as base:
        done = run_script(FETCH, fetch_env(tmp_path, SOURCE_TYPE="zip", ARCHIVE_URL=f"{base}/gone.zip"), tmp_path)
    assert done.returncode != 0
    assert "download" in done.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"CONTEXT": "../.."}, "outside the source"),
        ({"CONTEXT": "services/web", "DOCKERFILE": "../../../../result-revision"}, "outside the source"),
        ({"CONTEXT": "services/web", "DOCKERFILE": "Containerfile"}, "not found"),
        ({"CONTEXT": "nowhere"}, "does not exist"),
        ({"SOURCE_TYPE": "svn"}, "must be git, zip or local"),
        ({"GIT_URL": "--upload-pack=touch /tmp/owned"}, "must not start with '-'"),
        ({"GIT_REVISION": "--output=/tmp/owned"}, "must not start with '-'"),
        ({"GIT_URL": ""}, "GIT_URL is empty"),
    ],
)
def test_fetch_refuses_bad_input_with_a_clear_message(
    values: dict[str, str], message: str, repository: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _, _ = repository
    env = fetch_env(tmp_path, GIT_URL=f"file://{repo}")
    env.update(values)
    done = run_script(FETCH, env, tmp_path)
    assert done.returncode != 0
    assert message in done.stderr


def recorder(directory: Path, name: str) -> Path:
    """A stand-in executable that records its arguments, one per line."""
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    log = directory / f"{name}.args"
    log.unlink(missing_ok=True)
    tool.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a" >> "{log}"; done\necho ---- >> "{log}"\n')
    tool.chmod(0o755)
    return log


def build_env(tmp: Path, **values: str) -> dict[str, str]:
    ca = tmp / "ca"
    ca.mkdir(exist_ok=True)
    env = {
        "IMAGE": "harbor.local:8443/demo/web:r-0123456789abcdef",
        "CONTEXT": "services/web",
        "DOCKERFILE": "Dockerfile",
        "REGISTRY_HOST": "",
        "CACHE_REPO": "",
        "SOURCE_DIR": str(tmp / "src"),
        "REGISTRY_CA_BOUND": "false",
        "REGISTRY_CA_DIR": "",
        "DOCKER_CONFIG": "/kaniko/.docker",
        "AUTH_FILE": str(tmp / "dockerconfig" / "config.json"),
        "STORAGE_DRIVER": "vfs",
        "DIGEST_RESULT": str(tmp / "result-digest"),
        "URL_RESULT": str(tmp / "result-url"),
    }
    env.update(values)
    return env


def run_kaniko(tmp: Path, env: dict[str, str], args: list[str]) -> list[str]:
    log = recorder(tmp / "bin", "executor")
    script = step("tekton-runner-build", "build-and-push")["script"]
    assert "/kaniko/executor " in script
    script = script.replace("/kaniko/executor ", f"{tmp / 'bin' / 'executor'} ")
    done = run_script(script, env, tmp, args)
    assert done.returncode == 0, done.stderr
    return log.read_text().split("----\n")[0].splitlines()


def test_kaniko_step_builds_the_context_and_writes_digest_and_url(tmp_path: Path) -> None:
    env = build_env(tmp_path)
    argv = run_kaniko(tmp_path, env, ["--build-arg=A=b c", "--verbosity=debug"])
    context = f"{tmp_path}/src/services/web"
    assert argv == [
        f"--context=dir://{context}",
        f"--dockerfile={context}/Dockerfile",
        f"--destination={env['IMAGE']}",
        f"--digest-file={env['DIGEST_RESULT']}",
        "--build-arg=A=b c",
        "--verbosity=debug",
    ]
    assert (tmp_path / "result-url").read_text() == env["IMAGE"]


def test_kaniko_step_trusts_the_registry_ca_for_the_image_host_and_uses_the_cache(tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    env = build_env(
        tmp_path,
        REGISTRY_CA_BOUND="true",
        REGISTRY_CA_DIR=str(tmp_path / "ca"),
        CACHE_REPO="harbor.local:8443/cache/web",
    )
    argv = run_kaniko(tmp_path, env, [])
    assert "--cache=true" in argv
    assert "--cache-repo=harbor.local:8443/cache/web" in argv
    assert f"--registry-certificate=harbor.local:8443={tmp_path}/ca/ca.crt" in argv
    argv = run_kaniko(tmp_path, {**env, "REGISTRY_HOST": "harbor.example.test"}, [])
    assert f"--registry-certificate=harbor.example.test={tmp_path}/ca/ca.crt" in argv


def test_kaniko_step_without_a_bound_ca_adds_no_certificate(tmp_path: Path) -> None:
    argv = run_kaniko(tmp_path, build_env(tmp_path), [])
    assert not [arg for arg in argv if arg.startswith(("--registry-certificate", "--cache"))]


def test_buildah_step_builds_then_pushes_with_credentials_ca_and_digest(tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "ca" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    log = recorder(tmp_path / "bin", "buildah")
    env = build_env(tmp_path, REGISTRY_CA_BOUND="true", REGISTRY_CA_DIR=str(tmp_path / "ca"))
    env["PATH"] = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    done = run_script(step("tekton-runner-build-buildah", "build-and-push")["script"], env, tmp_path, ["--pull"])
    assert done.returncode == 0, done.stderr
    build, push = (call.splitlines() for call in log.read_text().split("----\n")[:2])
    context = f"{tmp_path}/src/services/web"
    auth = ["--authfile", env["AUTH_FILE"], "--cert-dir", f"{tmp_path}/ca"]
    assert build == ["build", *auth, "--file", f"{context}/Dockerfile", "--tag", env["IMAGE"], "--pull", context]
    assert push == ["push", *auth, "--digestfile", env["DIGEST_RESULT"], env["IMAGE"], f"docker://{env['IMAGE']}"]
    assert (tmp_path / "result-url").read_text() == env["IMAGE"]
