"""Dependency images (redis, postgres, rabbitmq) are taken from the Harbor Docker Hub mirror when one is configured."""

from __future__ import annotations

import pytest

from tekton_runner.models.environment import settings_from_env
from tekton_runner.models.settings import Settings
from tekton_runner.workspaces.images import dependency_images, mirrored_image

MIRROR = "lenovo:8443/dockerhub-proxy"


@pytest.mark.parametrize(("reference", "expected"), [
    ("redis:7-alpine", "lenovo:8443/dockerhub-proxy/library/redis:7-alpine"),
    ("postgres:16-alpine", "lenovo:8443/dockerhub-proxy/library/postgres:16-alpine"),
    ("docker.io/library/redis:7", "lenovo:8443/dockerhub-proxy/library/redis:7"),
    ("index.docker.io/bitnami/redis:7.2", "lenovo:8443/dockerhub-proxy/bitnami/redis:7.2"),
    ("bitnami/postgresql", "lenovo:8443/dockerhub-proxy/bitnami/postgresql"),
    ("redis@sha256:" + "a" * 64, "lenovo:8443/dockerhub-proxy/library/redis@sha256:" + "a" * 64),
    ("redis:7@sha256:" + "b" * 64, "lenovo:8443/dockerhub-proxy/library/redis:7@sha256:" + "b" * 64),
])
def test_docker_hub_images_are_rewritten_to_the_mirror(reference: str, expected: str) -> None:
    assert mirrored_image(reference, MIRROR) == expected
    assert mirrored_image(reference, MIRROR + "/") == expected


@pytest.mark.parametrize("reference", [
    "lenovo:8443/library/redis:7",
    "quay.io/sclorg/postgresql-16-c9s:latest",
    "localhost/redis:7",
    "registry.local:5000/redis",
])
def test_images_from_other_registries_are_left_alone(reference: str) -> None:
    assert mirrored_image(reference, MIRROR) == reference


def test_without_a_mirror_nothing_changes() -> None:
    assert mirrored_image("redis:7-alpine", None) == "redis:7-alpine"
    assert mirrored_image("redis:7-alpine", "") == "redis:7-alpine"
    assert dependency_images(settings(None))["postgres"] == "postgres:16-alpine"


def test_every_kind_at_once() -> None:
    images = dependency_images(settings(MIRROR))
    assert images == {
        "redis": "lenovo:8443/dockerhub-proxy/library/redis:7-alpine",
        "postgres": "lenovo:8443/dockerhub-proxy/library/postgres:16-alpine",
        "rabbitmq": "lenovo:8443/dockerhub-proxy/library/rabbitmq:4-alpine",
    }


def test_a_configured_image_from_another_registry_is_kept() -> None:
    images = dependency_images(settings(MIRROR, rabbitmq_image="harbor.lan/library/rabbitmq:4.1"))
    assert images["rabbitmq"] == "harbor.lan/library/rabbitmq:4.1"


def settings(mirror: str | None, **images: str) -> Settings:
    return settings_from_env({"TEKTON_RUNNER_REGISTRY": "harbor.lan/library",
                              "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088",
                              **({"TEKTON_RUNNER_MIRROR_PREFIX": mirror} if mirror else {}),
                              **{f"TEKTON_RUNNER_{name.upper()}": value for name, value in images.items()}})
