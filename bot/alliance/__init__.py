"""The alliance file: its schema, validation with line numbers, and an idempotent load."""
