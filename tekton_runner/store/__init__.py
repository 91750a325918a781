"""Durable state: runs, steps, processed events, uploads and port allocations, in SQLite or PostgreSQL."""
