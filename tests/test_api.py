"""The read-only HTTP API over real HTTP on 127.0.0.1, as a dashboard calls it: the server that
``alliance-bot run`` starts (``serve_http``), on SQLite and PostgreSQL. A reader token sees
shared check-ins only and never who answered; a staff token sees everything; a revoked token
is refused; pages walk every item once; erased data is gone; the OpenAPI document validates."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from openapi_spec_validator import validate
from sqlalchemy import select

from adapters.api.server import api_routes
from adapters.health import serve_http
from adapters.http import EndpointServer
from bot.api import ReadApi, tokens
from bot.clock import ManualClock
from bot.digest.compute import compute_digest
from bot.domain.periods import Period
from bot.privacy.erase import delete_all
from bot.runtime import Runtime
from bot.settings import HttpSettings
from bot.storage import models as m
from bot.storage.database import Database
from bot.storage.records import ApiToken, AuditEvent
from tests.apidata import SHAPE, Made, fill, shared, text_of

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
Json = Any


@dataclass
class Api:
    base: str
    db: Database
    http: aiohttp.ClientSession
    made: Made
    staff: str
    reader: str

    async def call(
        self, path: str, token: str | None = None, method: str = "GET", **params: str
    ) -> tuple[int, Json]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = path if path.startswith("http") else self.base + path
        async with self.http.request(method, url, params=params, headers=headers) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def walk(self, path: str, token: str, **params: str) -> list[Json]:
        """Every item of a list, following ``next`` to the end."""
        status, body = await self.call(path, token, **params)
        items = []
        while True:
            assert status == 200, body
            items += body["data"]
            if body["next"] is None:
                return items
            status, body = await self.call(body["next"], token)


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[Api]:
    db = Database(db_url)
    await db.upgrade()
    made = await fill(db)
    async with db.session() as s:
        _, staff = await tokens.create(s, "staff board", tokens.Role.STAFF, at=NOW)
        _, reader = await tokens.create(s, "dashboard", tokens.Role.READER, at=NOW)
    clock = ManualClock(NOW)
    runtime = Runtime(db_url, clock, {}, real_time=False)
    server = await serve_http(
        runtime, [], HttpSettings(port=0), ReadApi(runtime.db, clock)
    )  # as `alliance-bot run` serves it
    assert isinstance(server, EndpointServer)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            yield Api(server.url, db, http, made, staff, reader)
    finally:
        await server.stop()
        await runtime.db.dispose()
        await db.dispose()


async def test_a_reader_sees_shared_checkins_only_and_never_who_answered(api: Api) -> None:
    items = await api.walk("/api/v1/checkins", api.reader, limit="7")
    assert len(items) == api.made.shared > 0
    assert all(c["shareable"] and c["member"] is None and c["starred"] is None for c in items)
    raw = json.dumps(items)
    assert "Member 0" not in raw and '"m0' not in raw  # no names, no handles
    for member in range(1, SHAPE.members + 1):
        if not shared(member):
            assert f"member {member:05d}" not in raw  # no unshared answer text
    assert items[0]["question"] and items[0]["organisation"].startswith("org-")
    # Asking for more is refused, not quietly narrowed.
    for params in ({"scope": "all"}, {"member": "m00003"}):
        status, body = await api.call("/api/v1/checkins", api.reader, **params)
        assert status == 403 and body["error"]["code"] == "staff_only", body
    status, body = await api.call("/api/v1/checkins", api.reader, scope="shared")
    assert status == 200 and len(body["data"]) == min(100, api.made.shared)


async def test_a_staff_token_sees_every_checkin_with_its_author(api: Api) -> None:
    items = await api.walk("/api/v1/checkins", api.staff, limit="5")
    assert len(items) == api.made.checkins
    assert {c["member"]["handle"] for c in items} == {
        f"m{n:05d}" for n in range(1, SHAPE.members + 1)
    }
    first = next(c for c in items if c["member"]["handle"] == "m00001")
    assert first["text"] == text_of(1, 0) and first["member"]["name"] == "Member 00001"
    assert any(c["starred"] for c in items) and not all(c["shareable"] for c in items)
    shared_only = await api.walk("/api/v1/checkins", api.staff, scope="shared")
    assert len(shared_only) == api.made.shared
    mine = await api.walk("/api/v1/checkins", api.staff, member="m00002")
    assert mine and {c["member"]["handle"] for c in mine} == {"m00002"}
    week = await api.walk("/api/v1/checkins", api.staff, period="2026-W48")
    start, end = datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
    assert week and all(start <= datetime.fromisoformat(c["answered_at"]) < end for c in week)


async def test_tokens_missing_unknown_or_revoked_are_refused(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for token, code in (
        (None, "missing_token"),
        ("ab_not-a-token-of-ours", "unknown_token"),
        (api.staff[:-1] + "x", "unknown_token"),
    ):
        status, body = await api.call("/api/v1/organisations", token)
        assert (status, body["error"]["code"]) == (401, code), body
    async with api.http.get(
        api.base + "/api/v1/organisations", headers={"Authorization": f"Basic {api.staff}"}
    ) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    assert (await api.call("/api/v1/organisations", api.reader))[0] == 200
    async with api.db.session() as s:
        await tokens.revoke(s, "dashboard", at=NOW)
    status, body = await api.call("/api/v1/organisations", api.reader)
    assert (status, body["error"]["code"]) == (401, "revoked_token")
    assert (await api.call("/api/v1/organisations", api.staff))[0] == 200  # the other stays

    async with api.db.session() as s:
        rows = {t.name: t for t in (await s.scalars(select(ApiToken))).all()}
        assert rows["staff board"].last_used_at is not None
        assert api.staff not in {t.token_hash for t in rows.values()}  # only its SHA-256
        assert rows["staff board"].token_hash == tokens.digest(api.staff)
        actions = (await s.scalars(select(AuditEvent.action))).all()
    assert sorted(actions) == ["api-token-create", "api-token-create", "api-token-revoke"]
    assert api.staff not in caplog.text and api.reader not in caplog.text


async def test_pages_walk_every_item_exactly_once(api: Api) -> None:
    for limit in ("1", "4", "500"):
        ids = [c["id"] for c in await api.walk("/api/v1/checkins", api.staff, limit=limit)]
        assert len(ids) == len(set(ids)) == api.made.checkins and ids == sorted(ids)
    orgs = await api.walk("/api/v1/organisations", api.reader, limit="1")
    assert [o["slug"] for o in orgs] == ["org-001", "org-002", "org-003"]
    rates = await api.walk("/api/v1/response-rates", api.reader, period="2026-W49", limit="2")
    assert [r["organisation"] for r in rates] == ["org-001", "org-002", "org-003"]
    status, body = await api.call("/api/v1/checkins", api.staff, limit="100000")
    assert status == 200 and len(body["data"]) == min(500, api.made.checkins)  # capped
    status, first = await api.call("/api/v1/checkins", api.staff, limit="2", period="2026-W48")
    assert "period=2026-W48" in first["next"] and "limit=2" in first["next"]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/measures", {}, "missing_period"),
        ("/api/v1/measures", {"period": "last month"}, "bad_period"),
        ("/api/v1/response-rates", {"period": "2026-11..2026-W49"}, "bad_period"),
        ("/api/v1/response-rates", {"period": "2026-12..2026-01"}, "bad_period"),
        ("/api/v1/response-rates", {"period": "2020-01..2026-12"}, "bad_period"),
        ("/api/v1/checkins", {"cursor": "not a cursor"}, "bad_cursor"),
        ("/api/v1/checkins", {"cursor": "b3JnYW5pc2F0aW9uczox"}, "bad_cursor"),  # another list's
        ("/api/v1/checkins", {"limit": "0"}, "bad_limit"),
        ("/api/v1/checkins", {"limit": "ten"}, "bad_limit"),
        ("/api/v1/checkins", {"scope": "everything"}, "bad_scope"),
        ("/api/v1/checkins", {"perido": "2026-11"}, "unknown_parameter"),
        ("/api/v1/measures", {"period": "2026-11", "organisation": "nope"}, "unknown_organisation"),
    ],
)
async def test_bad_input_is_a_400_that_says_what_is_wrong(
    api: Api, path: str, params: dict[str, str], code: str
) -> None:
    status, body = await api.call(path, api.staff, **params)
    assert (status, body["error"]["code"]) == (400, code), body
    assert body["error"]["status"] == 400 and len(body["error"]["message"]) > 20


async def test_read_only_other_methods_and_paths_answer_json(api: Api) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        status, body = await api.call("/api/v1/checkins", api.staff, method=method)
        assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    status, body = await api.call("/api/v1/members", api.staff)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_rates_and_figures_are_the_digests(api: Api) -> None:
    async with api.db.session() as s:
        digest = await compute_digest(s, Period.parse_key("2026-W49"))
    status, body = await api.call("/api/v1/response-rates", api.reader, period="2026-W49")
    assert status == 200
    ours = {r["organisation"]: r["periods"][0] for r in body["data"]}
    assert digest.responses
    for r in digest.responses:
        assert (ours[r.slug]["delivered"], ours[r.slug]["answered"]) == (r.delivered, r.answered)
        assert ours[r.slug]["rate"] == pytest.approx(r.rate)
    measures = await api.walk("/api/v1/measures", api.reader, period="2026-W49", limit="1")
    assert sorted(x["key"] for x in measures) == sorted(f.key for f in digest.measures)
    for figure in digest.measures:
        mine = next(x for x in measures if x["key"] == figure.key)
        (period,) = mine["figures"]
        assert period["period"] == "2026-11" and period["total"] == pytest.approx(figure.total)
        values = {o["name"]: o["value"] for o in period["organisations"]}
        assert values == {o.name: o.value for o in figure.by_org}
    assert 99.0 in {  # org 3's corrected figure wins
        o["value"] for x in measures for o in x["figures"][0]["organisations"]
    }
    status, body = await api.call(
        "/api/v1/response-rates", api.reader, period="2026-W47..2026-W49", organisation="org-002"
    )
    (org,) = body["data"]
    assert [p["period"] for p in org["periods"]] == ["2026-W47", "2026-W48", "2026-W49"]
    assert all(p["delivered"] >= 4 for p in org["periods"])


async def test_an_erased_members_data_never_appears(api: Api) -> None:
    handle = "m00003"  # shares their answers
    before = await api.walk("/api/v1/checkins", api.reader)
    assert any(text_of(3, 0) == c["text"] for c in before)
    async with api.db.session() as s:
        member = (await s.scalars(select(m.Member).where(m.Member.handle == handle))).one()
        member.erase_requested_at = NOW - timedelta(minutes=1)
        await delete_all(s, member, NOW, ["confirm"])
    for token in (api.reader, api.staff):
        raw = json.dumps(await api.walk("/api/v1/checkins", token))
        assert "member 00003" not in raw and handle not in raw
    status, body = await api.call("/api/v1/checkins", api.staff, member=handle)
    assert status == 200 and body["data"] == []


async def test_the_openapi_document_validates_and_lists_every_route(api: Api) -> None:
    status, document = await api.call("/api/v1/openapi.json")  # no token needed
    assert status == 200
    validate(document)
    assert document["openapi"].startswith("3.1")
    status, index = await api.call("/api/v1/")
    served = {
        route.path
        for route in api_routes(ReadApi(api.db, ManualClock(NOW)))
        if isinstance(route, web.RouteDef) and route.method == "GET"
    }
    assert set(document["paths"]) == served
    assert all(set(item) == {"get"} for item in document["paths"].values())  # read-only
    for path, item in document["paths"].items():
        if path.endswith(("/", "openapi.json")):
            assert item["get"]["security"] == []
            assert (await api.call(path))[0] == 200
        else:
            assert "security" not in item["get"]  # the document's default: a bearer token
            assert (await api.call(path))[0] == 401
    schema = document["components"]["schemas"]["CheckIn"]
    assert {"member", "shareable", "text"} <= set(schema["properties"])
    assert index["openapi"] == "/api/v1/openapi.json"
