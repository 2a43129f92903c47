"""Digests in Matrix HTML (``formatted_body``): the core's neutral digest value, rendered here.

Member text (names, answers, prompts) is escaped by Jinja2's autoescape, so ``<b>`` or
``@room`` typed by a member shows as text. The plain ``body`` stays the core's text.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TypeVar

from jinja2 import Environment, PackageLoader

from adapters.i18n import WORDS
from bot.digest.model import Digest, SharedPost
from bot.digest.render import DigestRenderer as CoreRenderer
from bot.digest.render import digest_environment, document_locale, read_document
from bot.ports import Outgoing, Reply

HTML = "html"
"""The key ``adapters/matrix/translate.py`` reads a message's HTML from."""
Message = TypeVar("Message", Outgoing, Reply)


@cache
def _environment(locale: str) -> Environment:
    """The HTML templates for a reader of ``locale`` (``bot.digest.render``)."""
    loader = PackageLoader("adapters.matrix", "templates")
    return digest_environment(loader, locale, autoescape=True, words=WORDS)


def digest_html(value: Digest | SharedPost, locale: str = "en") -> str:
    if isinstance(value, Digest):
        return _environment(locale).get_template("digest.html.j2").render(d=value).strip()
    return _environment(locale).get_template("shared.html.j2").render(p=value).strip()


def with_html(message: Message) -> Message:
    """``message`` with its digest (if it carries one) rendered as HTML for ``translate``."""
    value = read_document(message.formats)
    if value is None:
        return message
    html = digest_html(value, document_locale(message.formats))
    return replace(message, formats={**message.formats, HTML: html})


class DigestRenderer(CoreRenderer):
    """The core's text and this platform's HTML of one digest (for tests and tools)."""

    def html(self, digest: Digest, locale: str = "en") -> str:
        return digest_html(digest, locale)

    def shared_html(self, post: SharedPost, locale: str = "en") -> str:
        return digest_html(post, locale)

    def formats(self, value: Digest | SharedPost, locale: str = "en") -> dict[str, str]:
        return {HTML: digest_html(value, locale)}
