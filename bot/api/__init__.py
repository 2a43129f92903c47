"""The read-only HTTP API's core: tokens, queries and the models it returns (no web framework
here; ``adapters/api`` serves it over aiohttp)."""

from bot.api.service import ReadApi

__all__ = ["ReadApi"]
