"""Dependency image references through the Harbor Docker Hub mirror; called when rendering a dependency."""

from __future__ import annotations

from ..models.dependencies import KINDS
from ..models.images import ImageReference
from ..models.settings import Settings


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


def dependency_images(settings: Settings) -> dict[str, str]:
    """The image each dependency kind runs in a workspace, by kind name (its image setting, mirrored)."""
    mirror = settings.workspaces.mirror_prefix
    return {name: mirrored_image(kind.image(settings), mirror) for name, kind in KINDS.items()}
