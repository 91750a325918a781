"""A run step's container logs for GET /runs/{id}/logs: which pods hold them (sources) and copying them
as labelled lines within the request's bounds (streaming)."""
