"""Durable session recording: one SQLite database per session, written by one thread."""
