"""Ingest: everything that brings data into the context store (devices, feeds, file imports)."""
