"""Frozen values and rules of the alliance domain: no I/O, no platform, no database."""
