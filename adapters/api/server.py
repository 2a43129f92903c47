"""The API's aiohttp routes: each reads its token and parameters, calls the core
(``bot.api.ReadApi``) and answers with the pydantic model serialised, or a JSON problem.

Only GET (and HEAD) are served: any other method on an API path is a 405, an unknown path
under /api/v1/ a 404, both as JSON. Tokens come in the ``Authorization`` header only, never in
the URL, so no access log could hold one; nothing here logs a header.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from adapters.api.endpoints import BASE, ENDPOINTS, Endpoint, Query
from adapters.api.openapi import document
from bot.api import ReadApi
from bot.api.params import ApiError, BadInput, Forbidden, Unauthorized
from bot.api.schema import Problem, ProblemDetail
from bot.api.tokens import Caller

log = logging.getLogger(__name__)
API_VERSION = "1.0.0"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alliance-bot"'}
_STATUS: dict[type[ApiError], int] = {BadInput: 400, Unauthorized: 401, Forbidden: 403}


def problem(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = Problem(error=ProblemDetail(status=status, code=code, message=message))
    return web.Response(
        status=status,
        text=body.model_dump_json(),
        content_type="application/json",
        headers=headers or None,
    )


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized(
            "missing_token",
            "Send a token as 'Authorization: Bearer <token>' (alliance-bot "
            "api token create makes one).",
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("bad_authorization", "The Authorization header is 'Bearer <token>'.")
    return token.strip()


class Handlers:
    def __init__(self, reader: ReadApi) -> None:
        self.reader = reader
        self.openapi = json.dumps(document(ENDPOINTS, API_VERSION))

    def handler(self, endpoint: Endpoint) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            if endpoint.response is None:
                return web.Response(text=self.openapi, content_type="application/json")
            query = Query(request.path, dict(request.query))
            try:
                caller: Caller | None = None
                if endpoint.authenticated:
                    caller = await self.reader.caller(bearer(request))
                endpoint.check_params(query)
                body = await endpoint.call(self.reader, caller, query)
            except ApiError as exc:
                status = _STATUS.get(type(exc), 400)
                extra = CHALLENGE if status == 401 else {}
                return problem(status, exc.code, exc.message, **extra)
            except Exception:
                log.exception("The API's %s failed", endpoint.operation)
                return problem(500, "internal", "Something went wrong on the bot's side.")
            return web.Response(text=body.model_dump_json(), content_type="application/json")

        return handle


async def _elsewhere(request: web.Request) -> web.StreamResponse:
    known = {e.path for e in ENDPOINTS}
    if request.path in known:
        return problem(
            405, "method_not_allowed", "The API is read-only: use GET.", Allow="GET, HEAD"
        )
    return problem(404, "not_found", f"No such endpoint; {BASE}/openapi.json lists them.")


def api_routes(reader: ReadApi) -> list[web.RouteDef]:
    """The API's routes, to add to the bot's aiohttp server (or Slack's)."""
    handlers = Handlers(reader)
    found = [web.get(e.path, handlers.handler(e)) for e in ENDPOINTS]
    found.append(web.route("*", BASE + "/{tail:.*}", _elsewhere))
    return found
