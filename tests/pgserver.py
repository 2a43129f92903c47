"""A throwaway PostgreSQL server for tests (standard library only).

with PostgresServer() as pg:
    url = pg.create_database("bot_test")  # postgresql+asyncpg://postgres@127.0.0.1:PORT/bot_test
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TIMEOUT = 120.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are missing or the throwaway server would not start."""


def _has_server(path: pathlib.Path) -> bool:
    return all((path / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def find_pg_bin() -> pathlib.Path | None:
    """Directory holding initdb, pg_ctl and postgres, or None."""
    if env := os.environ.get("ALLIANCE_BOT_TEST_PG_BIN"):
        return pathlib.Path(env)
    installed = [p for p in pathlib.Path("/usr/lib/postgresql").glob("*/bin") if _has_server(p)]
    if installed:
        return max(installed, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])
    if pg_ctl := shutil.which("pg_ctl"):
        # pg_ctl may be a lone symlink (no initdb beside it): also try the directory it points to.
        for candidate in (pathlib.Path(pg_ctl).parent, pathlib.Path(pg_ctl).resolve().parent):
            if (candidate / "initdb").is_file():
                return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: pathlib.Path | None = None) -> None:
        self.bin_dir = bin_dir if bin_dir is not None else find_pg_bin()
        self.port = 0
        self.root: pathlib.Path | None = None  # set while a cluster directory exists

    def start(self) -> None:
        """initdb a fresh cluster under /tmp and start it on a free 127.0.0.1 port."""
        if self.root is not None:
            raise RuntimeError("PostgresServer already started")
        if self.bin_dir is None or not _has_server(self.bin_dir):
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
                f"{self.bin_dir}; install postgresql or set ALLIANCE_BOT_TEST_PG_BIN."
            )
        # Directly in /tmp: pytest's tmp dirs (mode 700) are unreachable for the postgres user.
        self.root = root = pathlib.Path(tempfile.mkdtemp(prefix="alliance-bot-pg-", dir="/tmp"))
        try:
            root.chmod(0o755)
            for path in (root, root / "data", root / "sock", root / "log"):
                path.mkdir(exist_ok=True)
                if os.geteuid() == 0:  # initdb and postgres refuse to run as root
                    try:
                        shutil.chown(path, "postgres", "postgres")
                    except (LookupError, OSError) as exc:
                        raise PostgresUnavailable(f"cannot chown {path}: {exc}") from exc
            flags = ["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]
            self._run("initdb", "-D", root / "data", *flags)
            for attempt in range(3):
                self.port = _free_port()
                opts = (
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {root / 'sock'} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                )
                try:
                    log = root / "log" / "pg.log"
                    self._run("pg_ctl", "-w", "-D", root / "data", "-l", log, "-o", opts, "start")
                    break
                except PostgresUnavailable:  # someone may have taken the port meanwhile: retry
                    if attempt == 2 or "could not bind" not in self._log_tail(root):
                        raise
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Fast shutdown and remove the cluster directory; safe to call more than once."""
        root, self.root = self.root, None
        if root is None:
            return
        pid = 0
        try:
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int((root / "data" / "postmaster.pid").read_text().split()[0])
            if pid:
                self._run("pg_ctl", "-D", root / "data", "-m", "fast", "-w", "stop", cwd=root)
        except PostgresUnavailable:
            with contextlib.suppress(OSError):  # pg_ctl failed: leave no postmaster of ours behind
                os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def pause(self) -> None:
        """Stop the server (fast shutdown: connections are cut), keeping its data."""
        assert self.root is not None
        self._run("pg_ctl", "-D", self.root / "data", "-m", "fast", "-w", "stop", cwd=self.root)

    def resume(self) -> None:
        """Start the paused server again, on the same port and data."""
        assert self.root is not None
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root / 'sock'} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.root / "log" / "pg.log"
        self._run("pg_ctl", "-w", "-D", self.root / "data", "-l", log, "-o", opts, "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE through psql over TCP; returns url(name)."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name must match [a-z_][a-z0-9_]*, got {name!r}")
        if self.root is None or self.bin_dir is None:
            raise RuntimeError("PostgresServer.create_database() called before start()")
        psql = "/usr/bin/psql" if os.path.exists("/usr/bin/psql") else str(self.bin_dir / "psql")
        cmd = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port)]
        cmd += ["-U", "postgres", "-d", "postgres", "-c", f"CREATE DATABASE {name}"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=_TIMEOUT)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", None) or ""
            raise RuntimeError(f"CREATE DATABASE {name} failed: {exc}\n{detail}") from exc
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @staticmethod
    def _log_tail(root: pathlib.Path, lines: int = 20) -> str:
        try:
            text = (root / "log" / "pg.log").read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def _run(self, tool: str, *args: str | pathlib.Path, cwd: pathlib.Path | None = None) -> None:
        """Run a PostgreSQL tool (as user postgres when we are root); raise with the log tail."""
        assert self.bin_dir is not None
        cwd = cwd or self.root or pathlib.Path("/tmp")
        cmd = [str(self.bin_dir / tool), *map(str, args)]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        try:
            subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, timeout=_TIMEOUT)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            raw = getattr(exc, "stderr", None) or getattr(exc, "stdout", None) or b""
            output = raw.decode(errors="replace").strip() if isinstance(raw, bytes) else ""
            raise PostgresUnavailable(
                f"`{tool}` failed: {exc}\n{output}\n--- server log tail ---\n{self._log_tail(cwd)}"
            ) from exc
