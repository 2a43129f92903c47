"""Digests for backbone staff: computed once with SQL aggregates, rendered per platform."""
