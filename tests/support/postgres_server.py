"""Pytest plug-in: a real PostgreSQL + PostGIS server on loopback (to be written)."""
