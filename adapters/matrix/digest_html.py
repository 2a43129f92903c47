"""Digests in Matrix HTML (``formatted_body``): the core's neutral digest value, rendered here.

Member text (names, answers, prompts) is escaped by Jinja2's autoescape, so ``<b>`` or
``@room`` typed by a member shows as text. The plain ``body`` stays the core's text.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TypeVar

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.digest.model import Digest, SharedPost
from bot.digest.render import FIGURES, FILTERS, read_document
from bot.digest.render import DigestRenderer as CoreRenderer
from bot.ports import Outgoing, Reply

HTML = "html"
"""The key ``adapters/matrix/translate.py`` reads a message's HTML from."""
Message = TypeVar("Message", Outgoing, Reply)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("adapters.matrix", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(FIGURES)
    env.filters.update(FILTERS)
    return env


def digest_html(value: Digest | SharedPost) -> str:
    if isinstance(value, Digest):
        return _environment().get_template("digest.html.j2").render(d=value).strip()
    return _environment().get_template("shared.html.j2").render(p=value).strip()


def with_html(message: Message) -> Message:
    """``message`` with its digest (if it carries one) rendered as HTML for ``translate``."""
    value = read_document(message.formats)
    if value is None:
        return message
    return replace(message, formats={**message.formats, HTML: digest_html(value)})


class DigestRenderer(CoreRenderer):
    """The core's text and this platform's HTML of one digest (for tests and tools)."""

    def html(self, digest: Digest) -> str:
        return digest_html(digest)

    def shared_html(self, post: SharedPost) -> str:
        return digest_html(post)

    def formats(self, value: Digest | SharedPost) -> dict[str, str]:
        return {HTML: digest_html(value)}
