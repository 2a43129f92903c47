"""Webhooks: events for the alliance's own systems, signed and sent through the outbox."""
