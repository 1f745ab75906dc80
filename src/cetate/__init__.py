"""Cetate: an open-source urban data platform built on NGSI-LD."""

__version__ = "0.1.0"
