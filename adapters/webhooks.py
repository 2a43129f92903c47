"""Webhook requests over aiohttp: the I/O half of ``bot.webhooks`` (the core decides what a
status means; here a request that got no HTTP answer becomes ``Unreachable``)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

import aiohttp

from bot.ports import Unreachable
from bot.webhooks.courier import Response


def _agent() -> str:
    try:
        return f"alliance-bot/{version('alliance-bot')}"
    except PackageNotFoundError:
        return "alliance-bot"


class HttpPoster:
    """One connection pool for every endpoint, opened at the first request. Redirects are
    not followed: a signed body goes only where an admin pointed it."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": _agent()}
            )
        try:
            async with self._session.post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as answer:
                await answer.read()  # a short body; read it so the connection is reused
                return Response(answer.status, _seconds(answer.headers.get("Retry-After")))
        except (TimeoutError, aiohttp.ClientError, aiohttp.InvalidURL) as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}".strip(": ")) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
