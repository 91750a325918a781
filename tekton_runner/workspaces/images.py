"""Dependency image references through the Harbor Docker Hub mirror; called when rendering redis/postgres."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.images import ImageReference


def mirrored_image(reference: str, mirror_prefix: str | None) -> str:
    """`redis:7-alpine` -> `<mirror_prefix>/library/redis:7-alpine` when a Docker Hub mirror is configured.

    Only Docker Hub images are rewritten: the mirror is a Harbor proxy-cache project for Docker Hub, and
    an image from another registry (or already on Harbor) is left as given.
    """
    if not mirror_prefix:
        return reference
    image = ImageReference.parse(reference)
    if not image.on_docker_hub:
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
