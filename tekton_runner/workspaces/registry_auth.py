"""The Harbor pull credentials as a .dockerconfigjson document; read when a workspace gets its pull Secret."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from ..models.settings import WorkspaceSettings
from .errors import RegistryConfigError


def docker_config(registry_host: str, username: str, password: str) -> dict[str, Any]:
    """The document kubelet reads from a kubernetes.io/dockerconfigjson Secret, for one registry."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"auths": {registry_host: {"username": username, "password": password, "auth": auth}}}


def _checked(document: object, source: Path) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("auths"), dict) or not document["auths"]:
        raise RegistryConfigError(f"{source} has no `auths` entries: not a docker config for pulling images")
    # Credential helpers run on the machine that wrote the file; kubelet cannot call them.
    return {"auths": document["auths"]}


def _read(path: Path) -> dict[str, Any]:
    try:
        return _checked(json.loads(path.read_text()), path)
    except OSError as error:
        raise RegistryConfigError(f"cannot read registry_docker_config {path}: {error.strerror}") from error
    except ValueError as error:
        raise RegistryConfigError(f"registry_docker_config {path} is not JSON: {error}") from error


async def pull_config(settings: WorkspaceSettings) -> dict[str, Any] | None:
    """The configured credentials as a docker config, or None when the registry needs none."""
    if settings.registry_docker_config is not None:
        return await asyncio.to_thread(_read, settings.registry_docker_config)
    if settings.registry_username is not None and settings.registry_password is not None:
        return docker_config(settings.registry_host, settings.registry_username,
                             settings.registry_password.get_secret_value())
    return None


def encoded(config: dict[str, Any]) -> str:
    """The Secret's `.dockerconfigjson` data value."""
    return base64.b64encode(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).decode()
