"""The bot as a real ``alliance-bot run`` process, for tests that crash it with real signals.

The test keeps the platforms (fake Slack, Synapse) and the database; the bot runs in its own
process, built from ALLIANCE_BOT_* settings exactly as an operator's would be. Its output goes
to a log file that failures print. Its stdin stays open (a pipe), because the console ends the
bot at the end of its input.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any ALLIANCE_BOT_* of the caller's, plus ``settings``
    (keys without the prefix: ``SLACK__BOT_TOKEN="xoxb-…"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_BOT_")}
    env.update(
        ALLIANCE_BOT_DATABASE_URL=database_url,
        ALLIANCE_BOT_DATA_DIR=str(data_dir),
        ALLIANCE_BOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"ALLIANCE_BOT_{k.upper()}": v for k, v in settings.items()})
    return env


class BotProcess:
    """One ``python -m adapters run`` at a time; start again after a kill to restart it."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = ("run",)) -> None:
        self.env = env
        self.log = log
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> BotProcess:
        assert self.process is None or self.process.returncode is not None, "already running"
        self.starts += 1
        with self._log_file() as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters", *self.args,
                cwd=REPO, env=self.env, stdin=asyncio.subprocess.PIPE,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        return self

    def _log_file(self) -> BinaryIO:
        out = open(self.log, "ab")  # noqa: SIM115 (closed by the caller's with)
        out.write(f"\n----- start {self.starts} -----\n".encode())
        out.flush()
        return out

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def type(self, line: str) -> None:
        """A line on the bot's console."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, within: float = 60) -> int:
        """SIGTERM, as an operator's ``docker stop`` or systemd would; returns the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), within)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    async def until(
        self,
        condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
        what: str,
        within: float = 60,
        every: float = 0.05,
    ) -> None:
        """Wait for ``condition``; fail with the bot's log if it does not hold in time or the
        bot exits first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            result = condition()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(
                    f"the bot exited ({self.process.returncode}) before {what}:\n{self.tail()}"
                )
            if loop.time() > deadline:
                raise AssertionError(f"no {what} within {within:.0f} s; bot log:\n{self.tail()}")
            await asyncio.sleep(every)

    async def close(self) -> None:
        if self.running:
            await self.kill()
