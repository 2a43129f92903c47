"""One alliance across three Slack workspaces, installed with bolt's OAuth flow.

The real bolt app and the real Slack adapter run against a fake Slack serving three workspaces
(``tests/fakeslack_oauth.py``): every install goes through the install link, Slack's authorize
page, the redirect and ``oauth.v2.access``; every Web API call must carry the token of the
workspace it addresses.

What a partner organisation's Slack admin does to join (tried against the fake in
``tests/test_slack_oauth_run.py``, with the real bot process):

1. The backbone sends them their organisation's install link, which ``installs`` (in chat, for
   staff) or ``alliance-bot slack installs`` prints:
   ``https://<bot>/slack/install?organisation=<slug>``.
2. They open it, signed in to their own workspace; Slack shows the app's permissions
   (``chat:write``, ``im:write``, ``im:history``, ``channels:history``, ``commands``, ...).
3. They press **Allow**. Slack sends them back to the bot, which stores the installation (its
   token encrypted) and shows "installation completed".
4. They give the backbone each member's ``TEAM:USER`` id for the alliance file, and invite the
   bot to any channel it should post in (``/invite @alliance-bot``).
From then on prompts arrive in their members' DMs in their own workspace. Removing the app
(or revoking its tokens) stops the sends at once; the organisation's answers are kept and the
staff digest says the organisation is unreachable until someone installs again.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.commands_slack import rotate_keys
from adapters.matrix.digest_html import digest_html
from adapters.settings import Settings
from adapters.slack.adapter import SlackAdapter
from adapters.slack.digest_blocks import digest_blocks
from adapters.slack.installs import Sealer
from adapters.slack.pacing import Pacing
from adapters.slack.settings import SlackSettings
from bot.clock import ManualClock
from bot.digest.compute import compute_digest
from bot.digest.render import DigestRenderer
from bot.domain.periods import Period, PeriodKind
from bot.ports import Destination, DestinationKind, Outgoing, Rejected
from bot.reach import Installations, installs_text
from bot.runtime import Runtime
from bot.storage.records import Delivery, Installation
from tests.botprocess import free_port
from tests.conftest import store_url
from tests.fakeslack_oauth import CLIENT_ID, CLIENT_SECRET, MultiSlack, Team
from tests.harnesses.slack import SECRET, message_event, signed
from tests.pgserver import PostgresServer

KEY_A, KEY_B = Sealer.new_key(), Sealer.new_key()
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
TEAMS = (
    ("T1ANN", "annex-lib", ("U1ANNA", "U1ABE", "U1BO")),
    ("T2BEE", "bee-ngo", ("U2BELA",)),
    ("T3CEE", "cee-lib", ("U3CARL", "U3CORA")),
)
ALLIANCE = """\
alliance: {name: Three Workspaces, default_timezone: UTC}
organisations:
  - {slug: annex-lib, name: Annex Library, kind: library, country: DE, timezone: UTC}
  - {slug: bee-ngo, name: Bee NGO, kind: ngo, country: FR, timezone: UTC}
  - {slug: cee-lib, name: Cee Library, kind: library, country: ES, timezone: UTC}
members:
  - {id: anna, name: Anna, organisation: annex-lib, slack: "T1ANN:U1ANNA"}
  - {id: abe, name: Abe, organisation: annex-lib, slack: "T1ANN:U1ABE"}
  - {id: bo, name: Bo, organisation: annex-lib, role: backbone, slack: "T1ANN:U1BO"}
  - {id: bela, name: Bela, organisation: bee-ngo, slack: "T2BEE:U2BELA"}
  - {id: carl, name: Carl, organisation: cee-lib, slack: "T3CEE:U3CARL"}
  - {id: cora, name: Cora, organisation: cee-lib, slack: "T3CEE:U3CORA"}
campaigns:
  - key: daily
    name: Daily reflection
    prompts: [name-a-barrier]
    audience: {organisations: [annex-lib, bee-ngo, cee-lib]}
    schedule: "0 9 * * *"
    timezone: UTC
"""
PROMPTED = ("U1ANNA", "U1ABE", "U1BO", "U2BELA", "U3CARL", "U3CORA")


async def install(
    http: aiohttp.ClientSession, fake: MultiSlack, base: str, team: str, organisation: str
) -> str:
    """An admin of ``team`` opens their organisation's link and allows the app."""
    fake.installing = team
    link = f"{base}/slack/install?organisation={organisation}"
    async with http.get(link, allow_redirects=False) as start:
        assert start.status == 302, await start.text()
        authorize = start.headers["Location"]
        cookie = start.headers["Set-Cookie"].split(";")[0]
    assert authorize.startswith(fake.authorize_url)
    async with http.get(authorize, allow_redirects=False) as slack:
        assert slack.status == 302
        back = slack.headers["Location"]
    assert back.startswith(f"{base}/slack/oauth_redirect?code=")
    async with http.get(back, headers={"Cookie": cookie}) as done:
        return f"{done.status} {await done.text()}"


def prompted(fake: MultiSlack) -> set[str]:
    return {user for user in PROMPTED if fake.channel("D" + user[1:])}


@dataclass
class Setup:
    fake: MultiSlack
    adapter: SlackAdapter
    runtime: Runtime
    clock: ManualClock
    http: aiohttp.ClientSession
    base: str

    async def install(self, team: str, organisation: str) -> str:
        return await install(self.http, self.fake, self.base, team, organisation)

    async def event(self, body: dict[str, Any]) -> int:
        text = json.dumps(body)
        headers = {"Content-Type": "application/json", **signed(text)}
        async with self.http.post(self.adapter.url, data=text, headers=headers) as response:
            await response.read()
            status = response.status
        await self.adapter.idle()
        return status

    def prompted(self) -> set[str]:
        return prompted(self.fake)


def settings_for(fake: MultiSlack, port: int, keys: str = KEY_A) -> Settings:
    slack = SlackSettings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_keys=keys,
        signing_secret=SECRET,
        api_url=fake.api_url,
        authorize_url=fake.authorize_url,
        public_url=f"http://127.0.0.1:{port}",
        port=port,
    )
    return Settings(slack=slack)


@pytest.fixture
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    url = store_url(request, tmp_path, getattr(request.function, "backend", "sqlite"))
    fake = MultiSlack(
        teams=[Team(team, set(users), {f"C{team[1]}NEWS"}) for team, _, users in TEAMS],
        expires_in=getattr(request.function, "expires_in", None),
    )
    await fake.start()
    file = tmp_path / "alliance.yaml"
    file.write_text(ALLIANCE, encoding="utf-8")
    clock = ManualClock(START)
    port = free_port()
    adapter = SlackAdapter.from_settings(settings_for(fake, port), clock, Pacing.unlimited())
    runtime = Runtime(url, clock, {"slack": adapter.port}, alliance_file=file)
    runtime.real_time = False
    await runtime.start()
    await adapter.start(runtime)
    http = aiohttp.ClientSession()
    try:
        yield Setup(fake, adapter, runtime, clock, http, f"http://127.0.0.1:{port}")
    finally:
        await http.close()
        await adapter.stop_receiving()
        await runtime.stop()
        await adapter.close()
        await fake.stop()


async def install_all(setup: Setup) -> None:
    for team, organisation, _ in TEAMS:
        assert (await setup.install(team, organisation)).startswith("200")


def database_bytes(path: Path) -> bytes:
    """The SQLite file with its WAL and shared-memory files, as raw bytes."""
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    return b"".join(p.read_bytes() for p in files)


def typed(team: str, user: str, text: str) -> dict[str, Any]:
    """A member's message in the bot's DM, as the workspace's installation receives it."""
    body = message_event(user, "D" + user[1:], text, team=team)
    body["authorizations"] = [{"team_id": team, "user_id": f"U{team[1:]}BOT", "is_bot": True}]
    return body


def revocation(team: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{team}{event['type']}",
        "event_time": int(time.time()),
        "event": {**event, "event_ts": f"{time.time():.6f}"},
    }


async def test_three_workspaces_install_and_a_campaign_reaches_them_all(setup: Setup) -> None:
    async with setup.runtime.db.session() as s:
        before = await installs_text(s)
    link = f"{setup.base}/slack/install?organisation=bee-ngo"
    assert f"Bee NGO: not installed; install link: {link}" in before, before
    await install_all(setup)
    rows = await Installations(setup.runtime.db, setup.clock).all("slack")
    assert {(r.space, r.organisation, r.live) for r in rows} == {
        (team, org, True) for team, org, _ in TEAMS
    }
    await setup.runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert setup.prompted() == set(PROMPTED)
    posts = [u for u in setup.fake.used if u[0] == "chat.postMessage"]
    assert {team for _, team, _ in posts} == {team for team, _, _ in TEAMS}
    assert all(mine == addressed for _, mine, addressed in posts)
    assert setup.fake.wrong_team == []

    # A staff member asks which organisations installed: all three, in chat.
    status = await setup.event(typed("T1ANN", "U1BO", "installs"))
    assert status == 200
    assert await setup.runtime.replies_sent()
    reply = setup.fake.channel("D1BO")[-1].text
    assert "3 of 3 organisations installed" in reply, reply


async def test_uninstall_and_revoke_stop_the_sends_and_the_digest_says_so(setup: Setup) -> None:
    await install_all(setup)
    gone = revocation("T2BEE", {"type": "app_uninstalled"})
    revoked = revocation("T3CEE", {"type": "tokens_revoked", "tokens": {"bot": ["U3CEEBOT"]}})
    setup.fake.revoke("T2BEE")
    setup.fake.revoke("T3CEE")
    assert await setup.event(gone) == 200
    assert await setup.event(revoked) == 200
    await setup.runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert setup.prompted() == {"U1ANNA", "U1ABE", "U1BO"}
    async with setup.runtime.db.session() as s:
        failed = {
            d.member_id: d.last_error
            for d in await s.scalars(select(Delivery).where(Delivery.status == "failed"))
        }
        assert len(failed) == 3
        reasons = " ".join(str(e) for e in failed.values())
        assert "uninstalled from Slack workspace T2BEE" in reasons
        assert "T3CEE revoked the app's tokens" in reasons
        digest = await compute_digest(s, Period.containing(START.date(), PeriodKind.WEEK))
    cut_off = {(u.organisation, u.unreachable, u.partly) for u in digest.unreachable}
    assert cut_off == {("Bee NGO", 1, False), ("Cee Library", 2, False)}
    text = DigestRenderer().text(digest)
    assert "Bee NGO: its one member on slack, since 2026-" in text, text
    assert "Cee Library: all 2 members on slack" in text and "(tokens_revoked)" in text
    blocks = json.dumps(digest_blocks(digest))  # the same lines in Slack's and Matrix's digest
    assert "*Unreachable organisations*" in blocks and "Bee NGO: its one member on" in blocks
    html = digest_html(digest)
    assert "<h4>Unreachable organisations</h4>" in html, html
    assert "<li>Cee Library: all 2 members on slack, since 2026-" in html, html
    # No call went out with a revoked token: the sends stopped before reaching Slack.
    assert not [u for u in setup.fake.used if u[1] in ("T2BEE", "T3CEE") and u[0] != "auth.test"]

    status = await setup.event(typed("T1ANN", "U1BO", "installs"))
    assert status == 200 and await setup.runtime.replies_sent()
    reply = setup.fake.channel("D1BO")[-1].text
    assert "Bee NGO: UNREACHABLE since" in reply and "Cee Library: UNREACHABLE" in reply, reply

    # Installing again makes the organisation reachable again, its data untouched.
    assert (await setup.install("T2BEE", "bee-ngo")).startswith("200")
    async with setup.runtime.db.session() as s:
        digest = await compute_digest(s, Period.containing(START.date(), PeriodKind.WEEK))
    assert {u.organisation for u in digest.unreachable} == {"Cee Library"}


async def test_the_database_file_never_holds_a_token_in_clear(setup: Setup, tmp_path: Path) -> None:
    await install_all(setup)
    await setup.runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert setup.fake.tokens, "tokens were issued"
    raw = database_bytes(tmp_path / "bot.db")
    assert b"xoxb-" not in raw and b"xoxe" not in raw
    assert all(token.encode() not in raw for token in setup.fake.tokens)
    async with setup.runtime.db.session() as s:
        sealed = (await s.scalars(select(Installation.credentials))).all()
    assert len(sealed) == 3 and all(v and v.startswith("gAAAAA") for v in sealed)


async def test_an_expiring_token_is_refreshed_before_use(setup: Setup) -> None:
    """Tokens that last an hour, refreshed two hours before they expire: the first send to
    each workspace refreshes first (the fake stops the old token at once), the next does not."""
    await install_all(setup)
    assert setup.fake.refreshes == 0
    await setup.runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert setup.prompted() == set(PROMPTED)
    assert setup.fake.refreshes >= 3
    assert setup.fake.wrong_team == []
    refreshed = setup.fake.method_calls("oauth.v2.access")
    assert any(c.body.get("grant_type") == "refresh_token" for c in refreshed)


async def test_a_postgresql_dump_holds_no_token_in_clear(
    setup: Setup, postgres: PostgresServer
) -> None:
    await install_all(setup)
    await setup.runtime.advance(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    database = setup.runtime.db.engine.url.database
    assert postgres.bin_dir is not None and database
    dump = await asyncio.to_thread(
        subprocess.run,
        [str(postgres.bin_dir / "pg_dump"), "-h", "127.0.0.1", "-p", str(postgres.port)]
        + ["-U", "postgres", "-d", database],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert b"installations" in dump.stdout and b"gAAAAA" in dump.stdout
    assert b"xoxb-" not in dump.stdout and b"xoxe" not in dump.stdout


test_a_postgresql_dump_holds_no_token_in_clear.backend = "postgresql"  # type: ignore[attr-defined]
test_an_expiring_token_is_refreshed_before_use.expires_in = 3600  # type: ignore[attr-defined]


async def test_key_rotation_reseals_and_old_keys_open_until_rotated(setup: Setup) -> None:
    await install_all(setup)
    db = setup.runtime.db
    store = Installations(db, setup.clock)
    before = {r.space: r.credentials for r in await store.all("slack")}
    assert all(Sealer([KEY_A]).open(v or "")["bot_token"] for v in before.values())
    # The new key goes first; the old one still opens what it sealed.
    both = Sealer([KEY_B, KEY_A])
    assert all(both.open(v or "")["team_id"] == team for team, v in before.items())
    assert await rotate_keys(db, [KEY_B, KEY_A]) == 3
    after = {r.space: r.credentials for r in await store.all("slack")}
    assert after != before
    for team, sealed in after.items():
        assert Sealer([KEY_B]).open(sealed or "")["team_id"] == team
        with pytest.raises(Exception, match="cannot be decrypted"):
            Sealer([KEY_A]).open(sealed or "")


async def test_a_channel_is_posted_with_the_token_of_its_own_workspace(setup: Setup) -> None:
    """Channel ids carry no team: the port asks the installed workspaces once, then knows."""
    await install_all(setup)
    port = setup.adapter.slack
    news = Destination(DestinationKind.CHANNEL, "C3NEWS")
    await port.send(news, Outgoing("Hello, Cee", kind="digest"))
    await port.send(news, Outgoing("Again", kind="digest"))
    assert [m.text for m in setup.fake.channel("C3NEWS")] == ["Hello, Cee", "Again"]
    assert len(setup.fake.method_calls("conversations.info")) <= 3  # once, not per send
    assert setup.fake.wrong_team == []
    with pytest.raises(Rejected, match="no installed Slack workspace has the channel C9NONE"):
        await port.send(Destination(DestinationKind.CHANNEL, "C9NONE"), Outgoing("?"))


class Bookings:
    """A SharedPace that records the keys booked (PostgreSQL's StorePace shares them)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def book(self, key: str, per_second: float, burst: int) -> float:
        self.keys.append(key)
        return 0.0

    async def hold(self, key: str, seconds: float) -> None:
        raise AssertionError("no 429 was expected")


async def test_each_workspace_books_its_own_pace_with_the_other_workers(setup: Setup) -> None:
    await install_all(setup)
    port = setup.adapter.slack
    bookings = Bookings()
    port.workspaces.share(bookings)
    port.pacing = port.workspaces.pacing = Pacing(workspace_per_minute=6000)
    for account in ("T1ANN:U1ANNA", "T3CEE:U3CARL", "T3CEE:U3CORA"):
        await port.send(Destination(DestinationKind.PERSON, account), Outgoing("Hi"))
    assert bookings.keys == ["slack:T1ANN", "slack:T3CEE", "slack:T3CEE"]


async def test_a_workspace_that_never_installed_is_refused_with_its_reason(setup: Setup) -> None:
    await setup.install("T1ANN", "annex-lib")
    port = setup.adapter.slack
    await port.send(Destination(DestinationKind.PERSON, "T1ANN:U1ANNA"), Outgoing("Hi"))
    with pytest.raises(Rejected, match="T2BEE has not installed the app"):
        await port.send(Destination(DestinationKind.PERSON, "T2BEE:U2BELA"), Outgoing("Hi"))
