"""tekton-runner: from a JSON request to a Tekton build and a running preview app."""

__version__ = "0.1.0"
