"""Slack's markup both ways: what the bot shows is escaped (never parsed), and what a member
typed is read back as plain text (names and links, not angle brackets)."""

from __future__ import annotations

import re
from collections.abc import Mapping

TOKEN = re.compile(r"<([^<>\n]*)>")
"""Slack's markup in a message's text: ``<@U…>``, ``<#C…|name>``, ``<!here>``, ``<url|label>``."""
SCHEMES = ("https://", "http://", "mailto:")


def escape(text: str) -> str:
    """Slack's three control characters as entities: the text is shown, never parsed, so
    ``<!channel>`` or ``<@U…>`` typed by a member never notifies anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` typed by people as entities: store what they typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentioned(text: str) -> tuple[str, ...]:
    """The user ids ``<@U…>`` in a message's text, each once, in order."""
    found = (m.group(1).partition("|")[0] for m in TOKEN.finditer(text))
    return tuple(dict.fromkeys(user[1:] for user in found if user[:2] in ("@U", "@W")))


def readable(text: str, names: Mapping[str, str] | None = None) -> str:
    """A message's text as the member saw it, as plain text: ``<@U1>`` is ``@Ana`` (``names``
    maps user ids to names; an unknown user stays ``@U1``), ``<https://x.org|label>`` is
    ``label (https://x.org)``, ``<#C1|general>`` is ``#general``, ``<!here>`` is ``@here``.
    The result is never Slack markup again: a reply escapes it, so it pings nobody."""
    out: list[str] = []
    end = 0
    for match in TOKEN.finditer(text):
        out += [unescape(text[end : match.start()]), _token(match.group(1), names or {})]
        end = match.end()
    out.append(unescape(text[end:]))
    return "".join(out)


def _token(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = (unescape(part) for part in inner.partition("|"))
    kind, rest = target[:1], target[1:]
    if kind == "@":
        return "@" + (names.get(rest) or label.lstrip("@") or rest)
    if kind == "#":
        return "#" + (label or rest)
    if kind == "!":
        if label:  # <!date^…|fallback>, <!subteam^S1|@team>: Slack's own words for it
            return label
        name, _, arg = rest.partition("^")
        return "@" + (arg if name == "subteam" and arg else name)
    if not label:
        return target.removeprefix("mailto:")
    bare = target
    for scheme in SCHEMES:
        bare = bare.removeprefix(scheme)
    return label if label in (target, bare, bare.rstrip("/")) else f"{label} ({target})"


_ITEM = re.compile(r"^ {1,6}(\S(?:.*?\S)?)(?: {2,}(\S.*))?$")
_CONTINUED = re.compile(r"^ {7,}(\S.*)$")


def listed(text: str) -> str:
    """Column-aligned text (the help: ``  checkin <answer>    answer it``) as Slack readers
    expect it: a list of ``• `checkin <answer>` — answer it``, with a line ending in ``:``
    above it in bold, instead of a fixed-width block. ``text`` is escaped already."""
    out: list[str] = []
    for line in text.splitlines():
        continued = _CONTINUED.match(line)
        item = _ITEM.match(line)
        if continued and out and out[-1].startswith("• "):
            out[-1] += " " + continued.group(1).strip()
        elif item:
            name, about = item.group(1), item.group(2)
            out.append(f"• `{name}`" + (f" — {about.strip()}" if about else ""))
        elif line.rstrip().endswith(":") and len(line) < 80:
            out.append(f"*{line.strip()}*")
        else:
            out.append(line)
    return "\n".join(out)


_GAP = re.compile(r"\S {2,}(?=\S)")


def is_table(text: str) -> bool:
    """Whether some line has several columns (a digest's table): shown fixed-width, since a
    list would lose its columns. A help list has one gap a line at most."""
    return any(len(_GAP.findall(line.strip())) > 1 for line in text.splitlines())
