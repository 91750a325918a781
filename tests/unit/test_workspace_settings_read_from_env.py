"""The workspace part of the settings tree from TEKTON_RUNNER_* variables, with defaults that follow the runner's."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import SecretStr

from tekton_runner.models.environment import settings_from_env, variables
from tekton_runner.models.settings import WorkspaceSettings

RUNNER = {"TEKTON_RUNNER_DATA_DIR": "/srv/runner", "TEKTON_RUNNER_REGISTRY": "harbor.lan:8443/library",
          "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088"}


def from_env(environ: dict[str, str]) -> WorkspaceSettings:
    return settings_from_env({**RUNNER, **environ}).workspaces


def test_defaults_follow_the_runner_settings() -> None:
    settings = from_env({})
    assert settings.provisioner == "namespace"
    assert settings.registry_host == "harbor.lan:8443"
    assert settings.kind_kubeconfig_dir == Path("/srv/runner/kubeconfigs")
    assert settings.kind_state_dir == Path("/srv/runner/kind")
    assert settings.pull_secret_name is None  # no credentials, no Secret


def test_every_variable_is_read() -> None:
    environ = {
        "TEKTON_RUNNER_WORKSPACE_PROVISIONER": "kind",
        "TEKTON_RUNNER_REGISTRY_HOST": "lenovo:8443",
        "TEKTON_RUNNER_REGISTRY_CA_FILE": "/etc/harbor/ca.pem",
        "TEKTON_RUNNER_REGISTRY_INSECURE": "yes",
        "TEKTON_RUNNER_REGISTRY_HTTP": "false",
        "TEKTON_RUNNER_REGISTRY_ADDRESS": "192.168.1.20",
        "TEKTON_RUNNER_MIRROR_PREFIX": "lenovo:8443/dockerhub-proxy",
        "TEKTON_RUNNER_REGISTRY_DOCKER_CONFIG": "/etc/harbor/config.json",
        "TEKTON_RUNNER_PULL_SECRET": "harbor",
        "TEKTON_RUNNER_KIND_BINARY": "/usr/local/bin/kind",
        "TEKTON_RUNNER_KIND_KUBECONFIG_DIR": "/var/lib/kubeconfigs",
        "TEKTON_RUNNER_KIND_STATE_DIR": "/var/lib/kind",
        "TEKTON_RUNNER_KIND_NODE_IMAGE": "kindest/node:v1.33.1",
        "TEKTON_RUNNER_KIND_WAIT": "120",
        "TEKTON_RUNNER_KIND_NODE_PORTS": "30100-30199",
        "TEKTON_RUNNER_KIND_PORTS_PER_WORKSPACE": "20",
        "TEKTON_RUNNER_KIND_LISTEN_ADDRESS": "0.0.0.0",
        "TEKTON_RUNNER_WORKSPACE_IDLE_TTL": "14400",
        "TEKTON_RUNNER_WORKSPACE_PINNED": "demo, staging",
    }
    settings = from_env(environ)
    assert settings == WorkspaceSettings(
        provisioner="kind", registry_host="lenovo:8443", registry_ca_file=Path("/etc/harbor/ca.pem"),
        registry_insecure=True, registry_http=False, registry_address="192.168.1.20",
        mirror_prefix="lenovo:8443/dockerhub-proxy", registry_docker_config=Path("/etc/harbor/config.json"),
        pull_secret="harbor", kind_binary="/usr/local/bin/kind", kind_kubeconfig_dir=Path("/var/lib/kubeconfigs"),
        kind_state_dir=Path("/var/lib/kind"), kind_node_image="kindest/node:v1.33.1", kind_wait=120.0,
        kind_node_ports=(30100, 30199), kind_ports_per_workspace=20, kind_listen_address="0.0.0.0",
        idle_ttl=14400.0, pinned=frozenset({"demo", "staging"}),
    )
    assert settings.pull_secret_name == "harbor"


def test_every_field_has_a_variable() -> None:
    assert {path[1] for path in variables() if path[0] == "workspaces"} == {
        field.name for field in fields(WorkspaceSettings)}


def test_one_username_and_password_serve_pull_secrets_and_digest_reads() -> None:
    settings = from_env({"TEKTON_RUNNER_REGISTRY_USERNAME": "robot", "TEKTON_RUNNER_REGISTRY_PASSWORD": "s3cret"})
    assert settings.registry_username == "robot" and settings.pull_secret_name == "harbor-pull"
    assert settings.registry_password is not None and settings.registry_password.get_secret_value() == "s3cret"


def test_the_password_never_shows_in_repr() -> None:
    settings = WorkspaceSettings(registry_host="harbor.test", registry_username="robot",
                                 registry_password=SecretStr("s3cret"))
    assert "s3cret" not in repr(settings)
    assert settings.pull_secret_name == "harbor-pull"


def test_empty_optional_values_mean_unset() -> None:
    settings = from_env({"TEKTON_RUNNER_MIRROR_PREFIX": ""})
    assert settings.mirror_prefix is None


@pytest.mark.parametrize(("environ", "message"), [
    ({"TEKTON_RUNNER_WORKSPACE_PROVISIONER": "vcluster"}, "provisioner"),
    ({"TEKTON_RUNNER_REGISTRY_HOST": "https://lenovo:8443"}, "host"),
    ({"TEKTON_RUNNER_REGISTRY_HOST": "lenovo\n:8443"}, "host"),
    ({"TEKTON_RUNNER_MIRROR_PREFIX": "lenovo:8443/Docker Hub"}, "mirror_prefix"),
    ({"TEKTON_RUNNER_REGISTRY_USERNAME": "robot"}, "together"),
    ({"TEKTON_RUNNER_REGISTRY_INSECURE": "maybe"}, "true or false"),
    ({"TEKTON_RUNNER_KIND_NODE_PORTS": "30199-30100"}, "port range"),
    ({"TEKTON_RUNNER_KIND_NODE_PORTS": "30100-30104", "TEKTON_RUNNER_KIND_PORTS_PER_WORKSPACE": "10"}, "smaller"),
    ({"TEKTON_RUNNER_WORKSPACE_IDLE_TTL": "0"}, "positive"),
    ({"TEKTON_RUNNER_REGISTRY_USERNAME": "u", "TEKTON_RUNNER_REGISTRY_PASSWORD": "p",
      "TEKTON_RUNNER_REGISTRY_DOCKER_CONFIG": "/x.json"}, "not both"),
])
def test_settings_that_cannot_work_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_env(environ)
