"""The read-only HTTP API over aiohttp (the server the bot already runs for /healthz), with
its OpenAPI document generated from the pydantic models of ``bot.api.schema``."""
