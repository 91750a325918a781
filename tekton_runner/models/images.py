"""Image references, parsed the one way Docker reads them; used by runs, the registry client and workspaces."""

from __future__ import annotations

from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class ImageReference:
    """`[registry/]path[:tag][@digest]`, each part as written.

    `registry` is None when the reference names none, which Docker reads as Docker Hub. Its rule, kept here:
    the first path component is a registry only when another follows and it has a dot or a port, or is
    `localhost`. So `lenovo:8443/library/shop` is on `lenovo:8443`, while `bitnami/redis` is on Docker Hub.
    """

    registry: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, reference: str) -> ImageReference:
        if not reference or reference != reference.strip() or "://" in reference or any(
                char.isspace() for char in reference):
            raise ValueError(f"not an image reference: {reference!r}")
        name, at, digest = reference.partition("@")
        first, slash, rest = name.partition("/")
        if slash and ("." in first or ":" in first or first == "localhost"):
            registry: str | None = first
            path = rest
        else:
            registry, path = None, name
        tag: str | None = None
        colon = path.rfind(":")
        if colon > path.rfind("/"):  # a colon before the last slash is the registry's port, not a tag
            path, tag = path[:colon], path[colon + 1:]
        if not path or "" in path.split("/") or tag == "" or (at and ":" not in digest):
            raise ValueError(f"not an image reference: {reference!r}")
        return cls(registry=registry, path=path, tag=tag, digest=digest if at else None)

    @property
    def on_docker_hub(self) -> bool:
        return self.registry is None or self.registry in _HUB_ALIASES

    @property
    def host(self) -> str:
        """The host[:port] the image is pulled from."""
        return DOCKER_HUB if self.on_docker_hub else str(self.registry)

    @property
    def repository(self) -> str:
        """The repository on that host: Docker Hub's official images live under `library/`."""
        if self.on_docker_hub and "/" not in self.path:
            return f"library/{self.path}"
        return self.path

    @property
    def name(self) -> str:
        """The reference as written without tag and digest: `lenovo:8443/library/shop`, `redis`."""
        return f"{self.registry}/{self.path}" if self.registry is not None else self.path

    @property
    def suffix(self) -> str:
        """`:tag`, `@digest`, both, or nothing."""
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def pinned(self, digest: str) -> str:
        """The same image by digest alone: `<name>@<digest>`."""
        return f"{self.name}@{digest}"

    def __str__(self) -> str:
        return self.name + self.suffix


def image_repository(reference: str) -> str:
    """`host:5000/lib/shop:v1` -> `host:5000/lib/shop`: the reference as written, without tag and digest."""
    return ImageReference.parse(reference).name


def default_repository(registry: str, workspace: str, app: str) -> str:
    """Where a run or a registered app's images go unless the request names a repository."""
    return f"{registry.rstrip('/')}/{workspace}-{app}"
