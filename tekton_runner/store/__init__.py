"""Durable state in SQLite: runs, steps, processed events, uploads and port allocations."""
