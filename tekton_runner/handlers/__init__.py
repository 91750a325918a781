"""HTTP handlers: the public API, the Tekton event sink, health and metrics. Called by app.py's routes."""
