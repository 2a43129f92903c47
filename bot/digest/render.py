"""Digest rendering through Jinja2 templates; the numbers come from one Digest value."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.digest.compute import Digest


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    if value is None:
        return "no figure"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.digest", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals.update(pct=_pct, num=_num)
    env.filters["join_person"] = lambda person: f"{person[0]} ({person[1]})"
    return env


def render_text(digest: Digest) -> str:
    return _environment().get_template("digest.txt.j2").render(d=digest).strip() + "\n"
