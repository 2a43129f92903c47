"""Insight drawn from members' answers across organisations (pure, no database)."""
