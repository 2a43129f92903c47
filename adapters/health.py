"""Liveness, readiness and metrics, decided without any web framework.

    health = Health(runtime, adapters)
    report = await health.readiness()     # report.ready; report.not_ready names what is not
    body = await health.metrics()         # Prometheus text

``serve_http`` (called by ``alliance-bot run``) puts them on the web: on Slack's own server
when Slack runs over HTTP, and on a server of their own when ``ALLIANCE_BOT_HTTP__PORT`` is set
to another port (the Docker image sets it). aiohttp is imported only then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from adapters.base import Adapter
from bot.domain.errors import UserError
from bot.edge import Observed
from bot.settings import HttpSettings

if TYPE_CHECKING:
    from bot.api import ReadApi

log = logging.getLogger(__name__)
OK = "ok"


class Stoppable(Protocol):
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Readiness:
    """Each check's verdict: ``ok``, or a sentence saying what is wrong."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(verdict == OK for verdict in self.checks.values())

    @property
    def not_ready(self) -> dict[str, str]:
        return {name: verdict for name, verdict in self.checks.items() if verdict != OK}

    def body(self) -> dict[str, Any]:
        return {"ready": self.ready, "not_ready": self.not_ready, "checks": self.checks}


def connected(adapter: object) -> bool:
    """Whether a platform adapter is connected: its ``is_connected()`` when it has one,
    else an ``asyncio.Event`` named ``ready`` (Matrix: synced once); else it counts as up."""
    check = getattr(adapter, "is_connected", None)
    if callable(check):
        return bool(check())
    ready = getattr(adapter, "ready", None)
    return ready.is_set() if isinstance(ready, asyncio.Event) else True


class Health:
    def __init__(
        self, runtime: Observed, adapters: Sequence[Adapter] = (), *, db_timeout: float = 2.0
    ) -> None:
        self.runtime = runtime
        self.adapters = list(adapters)
        self.db_timeout = db_timeout
        runtime.metrics.know_platforms(runtime.ports)

    def alive(self) -> dict[str, Any]:
        """Liveness: answering at all shows the event loop runs."""
        return {"alive": True}

    async def readiness(self) -> Readiness:
        """Ready when the core has started, the database answers ``SELECT 1`` within
        ``db_timeout`` seconds, and every platform adapter is connected."""
        checks = {"runtime": OK if self.runtime.started else "not started (or stopping)"}
        checks["database"] = await self._database()
        for adapter in self.adapters:
            up = connected(adapter)
            checks[adapter.name] = OK if up else "not connected"
        return Readiness(checks)

    async def _database(self) -> str:
        try:
            await asyncio.wait_for(self.runtime.database_answers(), self.db_timeout)
        except TimeoutError:
            return f"did not answer SELECT 1 within {self.db_timeout:g} s"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"
        return OK

    async def metrics(self) -> bytes:
        """The Prometheus text, with the database's gauges read now (or a moment ago)."""
        metrics = self.runtime.metrics
        for adapter in self.adapters:
            metrics.connected(adapter.name, connected(adapter))
        await self.runtime.refresh_metrics()
        return metrics.exposition()


def hosts_routes(adapter: object) -> bool:
    """An adapter that runs a web server of its own and serves other routes on it too (its
    ``routes`` list, read when its server starts): Slack over HTTP."""
    return bool(getattr(adapter, "serves_http", False)) and hasattr(adapter, "routes")


async def serve_http(
    runtime: Observed,
    adapters: Sequence[Adapter],
    settings: HttpSettings,
    api: ReadApi | None = None,
) -> Stoppable | None:
    """Call before the adapters start. Hands /healthz, /readyz and /metrics (and the read-only
    API under /api/v1/, given ``api``) to Slack's server (when Slack runs over HTTP) and starts
    a server of their own on ``settings.port`` (when it is set and not that same port). None
    when neither applies."""
    hosts = [adapter for adapter in adapters if hosts_routes(adapter)]
    taken = {getattr(adapter, "http_port", None) for adapter in hosts}
    own = settings.port is not None and settings.port not in taken
    if not hosts and not own:
        return None
    try:
        from adapters.http import EndpointServer, routes
    except ModuleNotFoundError as exc:
        raise UserError(
            "The health and metrics endpoints (ALLIANCE_BOT_HTTP__PORT) need aiohttp, which "
            f"is not installed ({exc.name} is missing); install the slack or matrix extra, "
            "e.g. pip install 'alliance-bot[slack]', or unset ALLIANCE_BOT_HTTP__PORT."
        ) from None
    health = Health(runtime, adapters)
    for adapter in hosts:
        adapter_routes: list[Any] = getattr(adapter, "routes")  # noqa: B009 (checked above)
        adapter_routes.extend(routes(health))
        if api is not None:
            from adapters.api.server import api_routes

            adapter_routes.extend(api_routes(api))
    server = EndpointServer(health, settings.host, settings.port if own else None, api)
    await server.start()
    return server
