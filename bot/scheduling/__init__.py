"""Scheduling: recurrence rules, the APScheduler wrapper and the catch-up policy."""
