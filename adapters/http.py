"""/healthz, /readyz and /metrics over aiohttp (see adapters/health.py for what they decide).

GET /healthz   200 {"alive": true} while the event loop answers
GET /readyz    200 when ready, else 503; the body names what is not ready:
               {"ready": false, "not_ready": {"database": "unreachable (...)"}, "checks": ...}
GET /metrics   Prometheus text (prometheus_client)
GET /api/v1/   the read-only API (adapters/api), when the server is given a ``ReadApi``
"""

from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.health import Health
from bot.domain.errors import UserError
from bot.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.api import ReadApi

log = logging.getLogger(__name__)
PATHS = ("/healthz", "/readyz", "/metrics")


def routes(health: Health) -> list[web.RouteDef]:
    """The three routes, to add to any aiohttp app (Slack's server adds them to its own)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response(health.alive())

    async def readyz(_: web.Request) -> web.Response:
        report = await health.readiness()
        return web.json_response(report.body(), status=200 if report.ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=await health.metrics(), headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]


class EndpointServer:
    """The endpoints on a server of their own, at ``host``:``port`` (None: no server)."""

    def __init__(
        self, health: Health, host: str, port: int | None, api: ReadApi | None = None
    ) -> None:
        self.health = health
        self.api = api
        self.host = host
        self.port = port
        self.url = ""
        """Where it listens, e.g. http://127.0.0.1:8080 (empty when it does not)."""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self.port is None:
            return
        app = web.Application()
        app.add_routes(routes(self.health))
        if self.api is not None:
            from adapters.api.server import api_routes

            app.add_routes(api_routes(self.api))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise UserError(
                f"The health and metrics port {self.host}:{self.port} {why}; set "
                "ALLIANCE_BOT_HTTP__PORT (and __HOST) to a free one."
            ) from None
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        paths = (*PATHS, "/api/v1/") if self.api is not None else PATHS
        log.info("Health and metrics at %s (%s)", self.url, ", ".join(paths))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
