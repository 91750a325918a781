"""One image-reference parser: registry (with or without port), Docker Hub defaults, tag, digest, both."""

from __future__ import annotations

import pytest

from tekton_runner.models.images import ImageReference, default_repository
from tekton_runner.registry import RegistryError, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("reference", "registry", "path", "tag", "digest"), [
    ("redis", None, "redis", None, None),
    ("redis:7-alpine", None, "redis", "7-alpine", None),
    ("bitnami/redis:7.2", None, "bitnami/redis", "7.2", None),
    ("docker.io/library/redis:7", "docker.io", "library/redis", "7", None),
    ("index.docker.io/bitnami/redis", "index.docker.io", "bitnami/redis", None, None),
    ("localhost/shop", "localhost", "shop", None, None),
    ("localhost:5000/shop:v1", "localhost:5000", "shop", "v1", None),
    ("lenovo:8443/library/shop:r-1", "lenovo:8443", "library/shop", "r-1", None),
    ("lenovo:8443/library/shop", "lenovo:8443", "library/shop", None, None),
    ("127.0.0.1:25000/library/demo-shop:r-2", "127.0.0.1:25000", "library/demo-shop", "r-2", None),
    ("[::1]:5000/team/app:v1", "[::1]:5000", "team/app", "v1", None),
    ("harbor.lan/team/sub/app", "harbor.lan", "team/sub/app", None, None),
    (f"harbor.lan/team/app@{DIGEST}", "harbor.lan", "team/app", None, DIGEST),
    (f"harbor.lan:443/team/app:v1@{DIGEST}", "harbor.lan:443", "team/app", "v1", DIGEST),
    (f"redis@{DIGEST}", None, "redis", None, DIGEST),
    (f"redis:7@{DIGEST}", None, "redis", "7", DIGEST),
])
def test_parts_are_split_as_docker_reads_them(
    reference: str, registry: str | None, path: str, tag: str | None, digest: str | None,
) -> None:
    image = ImageReference.parse(reference)
    assert (image.registry, image.path, image.tag, image.digest) == (registry, path, tag, digest)
    assert str(image) == reference  # written back exactly as given


@pytest.mark.parametrize(("reference", "host", "repository"), [
    ("redis:7", "docker.io", "library/redis"),
    ("bitnami/redis", "docker.io", "bitnami/redis"),
    ("docker.io/redis", "docker.io", "library/redis"),
    ("registry-1.docker.io/library/postgres:16", "docker.io", "library/postgres"),
    ("lenovo:8443/library/shop:r-1", "lenovo:8443", "library/shop"),
    ("harbor.lan/shop", "harbor.lan", "shop"),  # only Docker Hub adds library/
])
def test_docker_hub_is_the_default_registry_with_library_for_official_images(
    reference: str, host: str, repository: str,
) -> None:
    image = ImageReference.parse(reference)
    assert (image.host, image.repository) == (host, repository)
    assert image.on_docker_hub == (host == "docker.io")


@pytest.mark.parametrize(("reference", "name"), [
    ("harbor.local/library/shop:v1", "harbor.local/library/shop"),
    ("lenovo:8443/library/shop:r-1", "lenovo:8443/library/shop"),  # a registry port is not a tag
    ("lenovo:8443/library/shop", "lenovo:8443/library/shop"),
    (f"shop@{DIGEST}", "shop"),
    (f"shop:v1@{DIGEST}", "shop"),
])
def test_pinning_replaces_tag_and_digest(reference: str, name: str) -> None:
    image = ImageReference.parse(reference)
    assert image.name == name
    assert image.pinned(DIGEST) == f"{name}@{DIGEST}"


@pytest.mark.parametrize("reference", [
    "", " redis", "redis ", "red is", "https://docker.io/redis", "docker.io/:7", "harbor.lan/", "harbor.lan//app",
    "shop:", "shop@", "shop@nodigest", ":7",
])
def test_what_is_not_a_reference_is_refused(reference: str) -> None:
    with pytest.raises(ValueError, match="not an image reference"):
        ImageReference.parse(reference)


def test_the_registry_client_needs_a_registry_host_and_defaults_the_tag() -> None:
    assert parse_reference("lenovo:8443/library/shop").tag == "latest"
    reference = parse_reference(f"lenovo:8443/library/shop:v2@{DIGEST}")
    assert (reference.registry, reference.repository, reference.tag) == ("lenovo:8443", "library/shop", "v2")
    with pytest.raises(RegistryError, match="does not name a registry host"):
        parse_reference("library/shop:v1")
    with pytest.raises(RegistryError, match="not an image reference"):
        parse_reference("https://lenovo:8443/shop")


def test_the_default_repository_is_the_registry_then_workspace_and_app() -> None:
    assert default_repository("harbor.test/library/", "demo", "shop") == "harbor.test/library/demo-shop"
