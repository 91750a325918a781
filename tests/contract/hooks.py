"""Schemathesis hooks for the contract run: upload bodies (application/zip) are sent as raw bytes."""

import schemathesis

schemathesis.serializer.alias("application/zip", "application/octet-stream")
