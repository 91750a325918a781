"""The runner's image built on this machine (cluster/localplane/runner_image.py, `make image`): Debian's
pinned python3 with the locked dependencies and the project's wheel, as an OCI layout. Unpacked and run the
way a container runtime would (chrooted, as the image's user, with its environment), its entrypoint answers
`--help`, its compiled dependencies load, and its config agrees with deploy/ and the Dockerfile.

The build is cached by its inputs; a cold one took 81-119 s here (docs/install.md "The image")."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_triggers_kustomization_installs_with_one_command import kustomize_build

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cluster"))
from localplane import runner_image  # noqa: E402


class Image:
    def __init__(self, layout: Path, root: Path) -> None:
        self.layout = layout
        self.root = root
        self.config = runner_image.unpack(layout, root)

    def run(self, *args: str, entrypoint: list[str] | None = None) -> tuple[int, str]:
        done = runner_image.run_as_image(self.root, self.config, list(args), entrypoint)
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    built = runner_image.build()
    yield Image(built.layout, tmp_path_factory.mktemp("image-rootfs"))


def deployment_container() -> dict[str, Any]:
    (deployment,) = [obj for obj in kustomize_build(ROOT / "deploy") if obj["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    return {"pod": pod, **pod["containers"][0]}


def test_entrypoint_prints_the_cli_help_as_the_images_user(image: Image) -> None:
    code, output = image.run("--help")
    assert code == 0, output
    assert output.startswith("usage: tekton-runner")
    for command in ("serve", "submit", "runs", "logs", "redeploy", "forward"):
        assert re.search(rf"^\s+{command}\s", output, re.MULTILINE), command


def test_compiled_dependencies_and_tls_roots_load_under_the_images_python(image: Image) -> None:
    check = (
        "import os, ssl, sys, sqlite3, aiohttp._http_parser, multidict._multidict, yarl._quoting_c, "
        "pydantic_core._pydantic_core, yaml._yaml, markupsafe._speedups, uvloop, tekton_runner.app; "
        "print(os.getuid(), os.getgid(), sys.version_info[:2], sys.prefix, "
        "len(ssl.create_default_context().get_ca_certs()) > 100)"
    )
    code, output = image.run("-c", check, entrypoint=["python"])
    assert code == 0, output
    assert output.split() == ["10001", "10001", "(3,", "11)", "/opt/tekton-runner", "True"]


def test_serve_in_the_image_names_the_settings_it_lacks(image: Image) -> None:
    code, output = image.run("serve")
    assert code != 0
    assert "TEKTON_RUNNER_REGISTRY" in output


def test_config_runs_as_the_deployments_non_root_user_on_the_port_deploy_targets(image: Image) -> None:
    config = image.config["config"]
    container = deployment_container()
    uid, gid = (int(part) for part in config["User"].split(":"))
    assert uid != 0 and (uid, gid) == (container["pod"]["securityContext"]["runAsUser"],
                                       container["pod"]["securityContext"]["runAsGroup"])
    assert config["Entrypoint"] == ["tekton-runner"] and config["Cmd"] == container["args"] == ["serve"]
    (http,) = [port for port in container["ports"] if port["name"] == "http"]
    port = int(runner_image.common_settings()["runner_port"])
    assert http["containerPort"] == port
    assert f"TEKTON_RUNNER_PORT={port}" in config["Env"]
    exposed = set(config["ExposedPorts"])
    assert exposed == {f"{port}/tcp"} | {f"{p}/tcp" for p in range(18000, 19000)}
    expose = re.search(r"^EXPOSE (\d+) (\d+)-(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert expose, "the Dockerfile exposes the API port and the relay's range"
    api, first, last = (int(group) for group in expose.groups())
    assert exposed == {f"{api}/tcp"} | {f"{p}/tcp" for p in range(first, last + 1)}
    data_dir = next(env for env in config["Env"] if env.startswith("TEKTON_RUNNER_DATA_DIR="))
    assert config["Volumes"] == {data_dir.split("=", 1)[1]: {}}
    assert (image.root / data_dir.split("=", 1)[1].lstrip("/")).stat().st_uid == uid


def test_no_wheel_or_pip_is_left_in_any_layer(image: Image) -> None:
    _, layers = runner_image.read_image(image.layout)
    names = list(runner_image.layer_names(layers))
    assert any(name.endswith("/bin/tekton-runner") for name in names)
    assert not [name for name in names if name.endswith(".whl")]
    assert not [name for name in names if "/site-packages/pip/" in name or name.startswith("tmp/build")]


def test_debian_packages_in_the_image_are_the_pinned_ones(image: Image) -> None:
    status = (image.root / "var/lib/dpkg/status").read_text()
    installed = dict(re.findall(r"^Package: (\S+)\n(?:.+\n)*?Version: (\S+)$", status, re.MULTILINE))
    assert installed == runner_image.read_debian_lock()
    assert "python3" in installed and "libssl3" in installed
