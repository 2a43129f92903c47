"""The console's ChatPort: prints what the bot posts and keeps it, so tests can read it back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.ports import (
    Action,
    Attachment,
    ChoiceOption,
    Clock,
    Destination,
    Outgoing,
    Reply,
    ReplyTo,
    Sent,
)


@dataclass
class ConsoleMessage:
    ref: str
    to: str
    """A member's console name, or ``#channel``."""
    text: str
    title: str = ""
    quoted: str = ""
    choices: tuple[ChoiceOption, ...] = ()
    thread: str | None = None
    delivery_id: int | None = None
    files: list[Path] = field(default_factory=list)
    answered: str | None = None
    kind: str = "message"
    actions: tuple[Action, ...] = ()
    answering: str | None = None
    """For a reply: the id of the event (the line typed) it answers."""


def format_message(message: ConsoleMessage, at: datetime) -> str:
    where = message.to if message.to.startswith("#") else f"{message.to} (DM)"
    head = f"[{at:%a %d %b %H:%M} UTC] bot → {where} {message.ref}"
    if message.answering is not None:  # the answer to what the person typed
        head = f"[{at:%a %d %b %H:%M} UTC] bot → you:"
    if message.thread and message.thread != message.ref:
        head += f" (in thread {message.thread})"
    lines = [head + (f" | {message.title}" if message.title else "")]
    lines += [f"  {line}" for line in message.text.splitlines()]
    if message.choices:
        lines.append("  " + "   ".join(f"{i}) {c.label}" for i, c in enumerate(message.choices, 1)))
    lines += [f"  > {line}" for line in message.quoted.splitlines()]
    lines += [f"  [file saved: {path}]" for path in message.files]
    lines += [f"  ({a.label}: {a.command})" for a in message.actions]
    if message.delivery_id is not None:
        verb = (
            f"pick {message.ref} <number>" if message.choices else f"reply {message.ref} <answer>"
        )
        lines.append(f"  (answer as {message.to}: {verb})")
    return "\n".join(lines)


class ConsolePort:
    """Posts go to ``echo`` (the terminal) and to ``messages`` (for tests and the harness)."""

    platform = "console"

    def __init__(
        self, clock: Clock, echo: Callable[[str], None] | None = None, files_dir: Path | None = None
    ) -> None:
        self.clock = clock
        self.echo = echo
        self.files_dir = files_dir or Path.cwd() / "alliance-bot-files"
        self.messages: list[ConsoleMessage] = []
        self._counter = 0

    def _ref(self, message: Outgoing) -> str:
        if message.delivery_id is not None:
            return f"p{message.delivery_id}"
        self._counter += 1
        return f"n{self._counter}"

    def _post(self, item: ConsoleMessage) -> Sent:
        self.messages.append(item)
        if self.echo is not None:
            self.echo(format_message(item, self.clock.now()))
        return Sent(item.ref, thread_ref=item.thread, address=item.to, sent_at=self.clock.now())

    async def send(self, to: Destination, message: Outgoing) -> Sent:
        return self._post(
            ConsoleMessage(
                self._ref(message),
                to.target,
                message.text,
                message.title,
                message.quoted,
                message.choices,
                to.thread,
                message.delivery_id,
                kind=message.kind,
            )
        )

    async def reply(self, to: ReplyTo, reply: Reply, *, key: str, attempt: int = 0) -> Sent:
        """The answer to a line, printed under it (files saved, their paths shown)."""
        self._counter += 1
        return self._post(
            ConsoleMessage(
                f"r{self._counter}",
                to.sender,
                reply.text,
                reply.title,
                reply.quoted,
                files=[self.save(a) for a in reply.attachments],
                kind="reply",
                actions=reply.actions,
                answering=to.event_id,
            )
        )

    async def upload(self, to: Destination, attachment: Attachment, comment: str = "") -> Sent:
        path = self.save(attachment)
        self._counter += 1
        return self._post(
            ConsoleMessage(
                f"n{self._counter}", to.target, comment or attachment.title, files=[path]
            )
        )

    def save(self, attachment: Attachment) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(attachment.filename).name
        path.write_bytes(attachment.content)
        return path

    async def mark_answered(self, sent: Sent, to: Destination, summary: str) -> None:
        for item in self.messages:
            if item.ref == sent.message_ref:
                item.answered = summary
