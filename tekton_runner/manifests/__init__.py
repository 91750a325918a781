"""Renders the Kubernetes objects the runner applies, from the Jinja2 templates under manifests/."""

from .rendering import ManifestError, Renderer, templates_dir

__all__ = ["ManifestError", "Renderer", "templates_dir"]
