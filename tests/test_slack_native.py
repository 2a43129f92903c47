"""Slack done the Slack way, through the real bolt app and the fake Web API: the App Home in
the member's language, slash replies through ``response_url``, a digest's chart uploaded once."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.i18n import _ as adapter_sentence
from adapters.logs import LibraryDebug
from adapters.slack.home import HOME_ANSWER, HOME_SKIP, home_view, pressed_answer, pressed_skip
from adapters.slack.uploads import Uploaded
from bot.home import Answered, HomeView, Waiting
from bot.i18n import translate
from bot.storage.records import CheckIn, Delivery
from tests.fakeslack_parts import dm_of
from tests.harness import with_accounts
from tests.harnesses.slack import (
    SlackHarness,
    command_form,
    message_event,
    view_submission,
)

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
ALLIANCE = with_accounts("""\
alliance: {name: Slack Test, default_timezone: UTC}
organisations:
  - {slug: lyon-bm, name: Lyon BM, kind: library, country: FR, timezone: Europe/Paris}
  - {slug: backbone, name: Backbone, kind: backbone, country: DE, timezone: Europe/Berlin}
members:
  - {id: ana, name: Ana, organisation: lyon-bm, locale: fr, reporting: true, <<ana>>}
  - {id: remi, name: Rémi, organisation: lyon-bm, locale: fr, <<remi>>}
  - {id: bo, name: Bo, organisation: backbone, role: backbone, <<bo>>}
measures:
  - {key: digital_skills_sessions, name: Digital-skills sessions, unit: sessions, target: 30}
campaigns:
  - key: everything
    name: Everything
    prompts: [name-a-barrier]
    measures: [digital_skills_sessions]
    audience: {members: [ana, remi]}
    schedule: "0 9 * * *"
    timezone: UTC
""")
FRENCH = ("Questions waiting for you", "Your recent answers", "Answer")
"""The App Home's sentences the test reads (in French from adapters/locales)."""


@pytest.fixture
def french() -> dict[str, str]:
    """The App Home's words in French, from the adapters' own catalog."""
    words = {english: translate(adapter_sentence(english), "fr") for english in FRENCH}
    assert all(words[english] != english for english in FRENCH), words
    return words


@pytest.fixture
async def h(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str
) -> AsyncIterator[SlackHarness]:
    harness = await SlackHarness.create(request, tmp_path, sqlite_url, START, ALLIANCE)
    await harness.runtime.start()
    try:
        yield harness
    finally:
        await harness.runtime.stop()
        await harness.stop()


def home_opened(user: str) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user, "channel": dm_of(user), "tab": "home"}
    return {"team_id": "T0TEST", "event_id": f"EvH{time.time_ns()}", "type": "event_callback",
            "event": event}  # fmt: skip


async def open_home(h: SlackHarness, user: str) -> dict[str, Any]:
    h.fake.homes.pop(user, None)
    await h.replies_to(h.slack.event(home_opened(user)))
    return h.fake.homes[user]


def home_button(home: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in home["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"] == action_id:
                return {**element, "block_id": block["block_id"]}
    raise AssertionError(f"no {action_id} button on the App Home")


def home_press(user: str, home: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """A block_actions payload from the App Home tab (no message: the view is the container)."""
    return {
        "type": "block_actions",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": user, "team_id": "T0TEST"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "trigger_id": f"{time.time_ns()}.trigger",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {**home, "id": "V0HOME"},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }


async def checkins(h: SlackHarness) -> list[CheckIn]:
    async with h.runtime.db.session() as s:
        return list((await s.scalars(select(CheckIn).order_by(CheckIn.id))).all())


# --- App Home ---------------------------------------------------------------------------------


async def test_the_app_home_speaks_french_and_shows_only_her_own_answers(
    h: SlackHarness, french: dict[str, str]
) -> None:
    await h.runtime.advance(NINE)
    [ana_prompt] = h.fake.channel(dm_of("U0ANA"))
    [remi_prompt] = h.fake.channel(dm_of("U0REMI"))
    await h.reply("remi", remi_prompt.ref, "Rémi's own barrier: the budget.")
    home = await open_home(h, "U0ANA")
    shown = json.dumps(home, ensure_ascii=False)
    assert french["Questions waiting for you"] in shown
    assert "Citez un obstacle à la collaboration" in shown  # the question, in French
    assert "name-a-barrier" not in shown and "Rémi's own barrier" not in shown
    answer = home_button(home, HOME_ANSWER)
    assert answer["text"]["text"] == french["Answer"]

    await h.reply("ana", ana_prompt.ref, "Les calendriers ne concordent jamais.")
    home = await open_home(h, "U0ANA")
    shown = json.dumps(home, ensure_ascii=False)
    assert french["Your recent answers"] in shown
    assert "Les calendriers ne concordent jamais." in shown
    assert "23 nov. 2026" in shown  # the day she answered, the French way
    assert "Rémi's own barrier" not in shown and "name-a-barrier" not in shown
    assert not [b for b in home["blocks"] if b["type"] == "actions"]  # nothing waits now


async def test_a_stranger_gets_a_polite_app_home(h: SlackHarness) -> None:
    home = await open_home(h, "U0NOBODY")
    assert "does not know your Slack account" in json.dumps(home)


async def test_answering_from_the_app_home_stores_it_and_redraws_the_home(
    h: SlackHarness,
) -> None:
    await h.runtime.advance(NINE)
    [prompt] = h.fake.channel(dm_of("U0ANA"))
    home = await open_home(h, "U0ANA")
    payload = home_press("U0ANA", home, home_button(home, HOME_ANSWER))
    assert (await h.slack.interaction(payload))[0] == 200
    await h.adapter.idle()
    [form] = h.fake.views
    assert "Citez un obstacle" in json.dumps(form, ensure_ascii=False)
    h.fake.homes.clear()
    replies = await h.replies_to(
        h.slack.interaction(view_submission("U0ANA", form, "Le budget.", view_id="V0FORM"))
    )
    assert replies  # the thank-you, in the prompt's thread
    [checkin] = await checkins(h)
    assert (checkin.answer_text, checkin.source) == ("Le budget.", "form")
    thanked = [m for m in h.fake.channel(dm_of("U0ANA")) if m.thread_ts == prompt.ts]
    assert thanked
    assert "Le budget." in json.dumps(h.fake.homes["U0ANA"], ensure_ascii=False)


async def test_skip_on_the_app_home_skips_that_question(h: SlackHarness) -> None:
    await h.runtime.advance(NINE)
    [remi_prompt] = h.fake.channel(dm_of("U0REMI"))
    home = await open_home(h, "U0ANA")
    h.fake.homes.clear()
    skip = home_button(home, HOME_SKIP)
    replies = await h.replies_to(h.slack.interaction(home_press("U0ANA", home, skip)))
    assert replies  # said in the question's thread
    async with h.runtime.db.session() as s:
        status = dict((await s.execute(select(Delivery.message_ref, Delivery.status))).all())
    assert status[skip["value"]] == "skipped" and status[remi_prompt.ref] == "sent"
    assert "Citez un obstacle" not in json.dumps(h.fake.homes["U0ANA"], ensure_ascii=False)


# --- slash replies through response_url ------------------------------------------------------


async def slash(h: SlackHarness, user: str, command: str, text: str, url: str | None) -> None:
    form = command_form(user, command, text)
    if url is None:
        del form["response_url"]
    else:
        form["response_url"] = url
    status, _ = await h.slack.form(form)
    assert status == 200
    await h.adapter.idle()
    assert await h.runtime.replies_sent()


async def test_a_slash_reply_arrives_at_its_response_url(h: SlackHarness) -> None:
    await h.runtime.advance(NINE)
    url = h.fake.responses.url()
    await slash(h, "U0ANA", "/checkin", "Trop de réunions.", url)
    [posted] = h.fake.responses.posted
    assert posted.body["response_type"] == "ephemeral" and posted.text
    assert posted.body["blocks"] and "metadata" not in posted.body
    assert h.fake.ephemerals == []
    assert [c.answer_text for c in await checkins(h)] == ["Trop de réunions."]


@pytest.mark.parametrize("how", ["refused", "expired", "missing", "not Slack's"])
async def test_a_response_url_that_cannot_be_used_falls_back_to_one_ephemeral(
    h: SlackHarness, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url: str | None = h.fake.responses.url()
    assert url is not None
    if how == "refused":
        h.fake.responses.expire(url)  # Slack answers 404 expired_url
    elif how == "expired":  # 31 minutes later, by Slack's clock: not even tried
        h.adapter.slack.responses.wall = lambda: time.time() + 31 * 60
    elif how == "missing":
        url = None
    else:
        url = "https://hooks.example.org/commands/T0TEST/1/secret"
    await slash(h, "U0BO", "/alliance-help", "", url)
    [ephemeral] = h.fake.ephemerals
    assert ephemeral.user == "U0BO" and ephemeral.text
    assert h.fake.responses.posted == []
    assert h.fake.responses.refused == (1 if how == "refused" else 0)
    if url is not None:  # a capability: never in the logs, nor in the outbox's errors
        secret = url.rsplit("/", 1)[-1]
        logged = [r for r in caplog.records if LibraryDebug().filter(r)]  # what the log keeps
        assert logged and not [r for r in logged if secret in r.getMessage()]
        async with h.runtime.db.session() as s:
            errors = (await s.scalars(select(Delivery.last_error))).all()
        assert not [e for e in errors if e and secret in e]


async def test_a_response_url_takes_five_answers_then_ephemerals_follow(h: SlackHarness) -> None:
    url = h.fake.responses.url()
    for _ in range(6):
        await slash(h, "U0BO", "/alliance-help", "", url)
    assert len(h.fake.responses.posted) == 5 and len(h.fake.ephemerals) == 1
    assert h.fake.responses.refused == 0  # the port counted; Slack never had to refuse


# --- a digest's chart, uploaded once per period ----------------------------------------------


def charts(h: SlackHarness) -> list[dict[str, Any]]:
    return [f for f in h.fake.files.values() if f.get("channel")]


async def test_a_second_digest_of_the_period_uploads_no_second_chart(h: SlackHarness) -> None:
    await slash(h, "U0BO", "/digest", "", h.fake.responses.url())
    [chart] = charts(h)
    await slash(h, "U0BO", "/digest", "", h.fake.responses.url())
    assert len(charts(h)) == 1
    # a restart forgets what this process uploaded; the bot's saved state does not
    port = h.adapter.slack
    port.uploaded = Uploaded()
    port.uploaded.keep_in(h.runtime.directory)
    await slash(h, "U0BO", "/digest", "", h.fake.responses.url())
    assert len(charts(h)) == 1
    shown = [
        b["slack_file"]["id"]
        for m in h.fake.channel(chart["channel"])
        for b in m.blocks
        if b.get("type") == "image"
    ]
    assert len(shown) == 2 and set(shown) <= set(h.fake.files)
    # the next week is another period: another chart
    await h.runtime.advance(h.clock.now() + timedelta(days=7))
    await slash(h, "U0BO", "/digest", "", h.fake.responses.url())
    assert len(charts(h)) == 2


async def test_a_chart_deleted_in_slack_is_uploaded_again_after_a_restart(
    h: SlackHarness,
) -> None:
    await slash(h, "U0BO", "/digest", "", None)
    [chart] = charts(h)
    chart.clear()  # deleted in Slack
    port = h.adapter.slack
    port.uploaded = Uploaded()
    port.uploaded.keep_in(h.runtime.directory)
    await slash(h, "U0BO", "/digest", "", None)
    assert len(charts(h)) == 1  # the new copy
    await slash(h, "U0BO", "/digest", "", None)
    assert len(charts(h)) == 1


async def test_a_dm_command_still_answers_in_the_dm(h: SlackHarness) -> None:
    """A command typed in the DM (no response_url) is answered there, as before."""
    await h.replies_to(h.slack.event(message_event("U0BO", dm_of("U0BO"), "help")))
    assert h.fake.channel(dm_of("U0BO")) and not h.fake.ephemerals


def test_the_app_home_escapes_member_words_and_writes_dates_the_readers_way() -> None:
    home = HomeView(
        "Berta",
        "Berlin Lib",
        recent=(Answered("Name a barrier", "<!here> time", "week 47", date(2026, 11, 20)),),
        upcoming=(("Daily", datetime(2026, 11, 24, 9, tzinfo=UTC)),),
        waiting=(
            Waiting("Contact?", "choice", ("Yes", "No"), "Daily", NINE, "slack", "D0B:1.1"),
            Waiting("How many?", "number", (), "Daily", None),
        ),
    )
    dumped = json.dumps(home_view(home), ensure_ascii=False)
    assert "Berta" in dumped and "&lt;!here&gt; time" in dumped and "<!here>" not in dumped
    assert "Tue, Nov 24 at 9:00" in dumped and "Nov 20, 2026" in dumped
    assert "Yes · No" in dumped and "Comes next" in dumped
    buttons = [b for b in home_view(home)["blocks"] if b["type"] == "actions"]
    assert len(buttons) == 1  # only the question asked on Slack can be answered here
    assert "does not know your Slack account" in json.dumps(home_view(None))


# --- Block Kit that reads naturally ----------------------------------------------------------


async def test_what_the_bot_posts_reads_like_a_slack_app(h: SlackHarness) -> None:
    """Every message has its notification text and blocks; the help is a list of commands,
    not a fixed-width dump; no prompt or delivery id is shown to the member."""
    await h.runtime.advance(NINE)
    [prompt] = h.fake.channel(dm_of("U0ANA"))
    await h.reply("ana", prompt.ref, "Le budget.")
    await slash(h, "U0ANA", "/alliance-help", "", h.fake.responses.url())
    await slash(h, "U0ANA", "/checkin", "", h.fake.responses.url())  # nothing open: a polite no
    await slash(h, "U0BO", "/digest", "", h.fake.responses.url())
    posted = [c.body for c in h.fake.method_calls("chat.postMessage") if c.ok]
    posted += [r.body for r in h.fake.responses.posted]
    assert len(posted) >= 5
    for body in posted:
        assert str(body.get("text") or "").strip(), body
        assert body.get("blocks"), body
        shown = json.dumps([b for b in body["blocks"] if b["type"] != "actions"])
        assert "name-a-barrier" not in shown and "prompt:" not in shown
    help_text = json.dumps(h.fake.responses.posted[0].blocks, ensure_ascii=False)
    assert "```" not in help_text and re.search(r"• `/?checkin`", help_text)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"actions": "x"},
        {"actions": [{"action_id": HOME_SKIP, "value": "no-ref"}], "user": {"id": "U1"}},
        {"actions": [{"action_id": HOME_ANSWER, "value": 7}], "view": []},
        {"actions": [{"action_id": HOME_SKIP, "value": "D1:1.1"}], "user": "U1", "team": 3},
    ],
)
def test_odd_app_home_presses_are_nothing(body: dict[str, Any]) -> None:
    assert pressed_answer(body) is None and pressed_skip(body, NINE) is None
