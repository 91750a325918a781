"""The local plane's Tekton controller gets placeholder step images that nothing pulls (kwok plays the
kubelet); the real node replaces those it has built, and every one of the controller's six required image
flags is always given exactly once."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cluster"))
from localplane.config import FAKE_IMAGE_PREFIX  # noqa: E402
from localplane.plane import Plane  # noqa: E402
from localplane.toolimages import ALL_RECIPES, TEKTON_IMAGES  # noqa: E402

REQUIRED = {"-entrypoint-image", "-nop-image", "-sidecarlogresults-image", "-workingdirinit-image", "-shell-image",
            "-shell-image-win"}


def flags(images: dict[str, str] | None = None) -> dict[str, str]:
    parsed = dict(flag.split("=", 1) for flag in Plane.tekton_image_flags(images))
    assert set(parsed) == REQUIRED
    return parsed


def test_without_the_real_node_every_image_is_a_placeholder() -> None:
    assert all(ref.startswith(FAKE_IMAGE_PREFIX + "/") for ref in flags().values())


def test_the_real_node_replaces_the_images_it_built_and_keeps_the_windows_placeholder() -> None:
    built = {flag: f"127.0.0.1:25000/tekton-runner-node/{name}:k" for flag, name in TEKTON_IMAGES.items()}

    given = flags(built)

    assert given["-entrypoint-image"] == "127.0.0.1:25000/tekton-runner-node/tekton-entrypoint:k"
    assert given["-shell-image"] == "127.0.0.1:25000/tekton-runner-node/busybox:k"
    assert given["-shell-image-win"].startswith(FAKE_IMAGE_PREFIX + "/")


def test_every_image_the_controller_is_pointed_at_has_a_recipe() -> None:
    assert set(TEKTON_IMAGES.values()) <= set(ALL_RECIPES)
