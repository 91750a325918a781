"""Dependency image references through the Harbor Docker Hub mirror; called when rendering redis/postgres."""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}


@dataclass(frozen=True)
class ImageName:
    """A reference split the way Docker reads it: registry, repository path, then `:tag` / `@digest`."""

    registry: str
    repository: str
    suffix: str  # ":7-alpine", "@sha256:...", ":1@sha256:..." or ""

    @classmethod
    def parse(cls, reference: str) -> ImageName:
        if not reference or reference != reference.strip() or "://" in reference:
            raise ValueError(f"not an image reference: {reference!r}")
        name, at, digest = reference.partition("@")
        first, slash, rest = name.partition("/")
        # Docker's rule: the first component is a registry when it has a dot or a port, or is localhost.
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry, path = first, rest
        else:
            registry, path = DOCKER_HUB, name
        last_slash = path.rfind("/")
        colon = path.rfind(":")
        if colon > last_slash:
            path, tag = path[:colon], path[colon:]
        else:
            tag = ""
        if not path:
            raise ValueError(f"not an image reference: {reference!r}")
        if registry in _HUB_ALIASES:
            registry = DOCKER_HUB
            if "/" not in path:
                path = f"library/{path}"
        return cls(registry=registry, repository=path, suffix=tag + (at + digest if at else ""))

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}{self.suffix}"


def mirrored_image(reference: str, mirror_prefix: str | None) -> str:
    """`redis:7-alpine` -> `<mirror_prefix>/library/redis:7-alpine` when a Docker Hub mirror is configured.

    Only Docker Hub images are rewritten: the mirror is a Harbor proxy-cache project for Docker Hub, and
    an image from another registry (or already on Harbor) is left as given.
    """
    if not mirror_prefix:
        return reference
    image = ImageName.parse(reference)
    if image.registry != DOCKER_HUB:
        return reference
    return f"{mirror_prefix.rstrip('/')}/{image.repository}{image.suffix}"


@dataclass(frozen=True)
class DependencyImages:
    redis: str
    postgres: str


def dependency_images(redis: str, postgres: str, mirror_prefix: str | None) -> DependencyImages:
    """The redis and postgres images a workspace should run (Settings.redis_image / postgres_image in)."""
    return DependencyImages(
        redis=mirrored_image(redis, mirror_prefix), postgres=mirrored_image(postgres, mirror_prefix),
    )
