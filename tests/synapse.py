"""A throwaway Synapse homeserver for tests and benchmarks (standard library only).

    server = SynapseServer(tmp_dir)       # relaxed rate limits (default_limits=True: Synapse's)
    server.start()                        # 127.0.0.1, a free port, SQLite, ready in ~1.5 s
    bot = server.register("alliancebot")  # Account(user_id, password, access_token, device_id)
    server.stop(); server.start()         # a restart on the same data and port (an outage)

Blocking calls (subprocess, urllib): call them from synchronous code or through asyncio.to_thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_NAME = "localhost"
_RELAXED = {"per_second": 10_000, "burst_count": 100_000}


class SynapseUnavailable(RuntimeError):
    """Synapse is not installed or did not answer in time."""


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relaxed_limits() -> dict[str, Any]:
    """Every ``rc_*`` block set far above what a test does."""
    return {
        "rc_message": _RELAXED,
        "rc_registration": _RELAXED,
        "rc_registration_token_validity": _RELAXED,
        "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
        "rc_admin_redaction": _RELAXED,
        "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
        "rc_joins_per_room": _RELAXED,
        "rc_3pid_validation": _RELAXED,
        "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
        "rc_third_party_invite": _RELAXED,
        "rc_media_create": _RELAXED,
        "rc_presence": {"per_user": _RELAXED},
        "rc_delayed_event_mgmt": _RELAXED,
        "rc_room_creation": _RELAXED,
        "rc_reports": _RELAXED,
        "rc_user_directory": _RELAXED,
        "rc_profile": _RELAXED,
        "rc_key_requests": _RELAXED,
    }


class SynapseServer:
    """One Synapse process on 127.0.0.1 with its data under ``root``; restartable."""

    def __init__(
        self,
        root: Path,
        *,
        default_limits: bool = False,
        rc_message: tuple[float, int] | None = None,
    ) -> None:
        self.root = root
        self.default_limits = default_limits
        self.rc_message = rc_message
        self.port = free_port()
        self.secret = hashlib.sha256(os.urandom(16)).hexdigest()
        self.process: subprocess.Popen[bytes] | None = None
        self.accounts: dict[str, Account] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.root / "homeserver.pid"),
            "public_baseurl": self.url + "/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client", "media"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.root / "homeserver.db")}},
            "media_store_path": str(self.root / "media"),
            "signing_key_path": str(self.root / "signing.key"),
            "registration_shared_secret": self.secret,
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "bcrypt_rounds": 4,
            "enable_metrics": False,
            # Synapse answers a repeated identical /sync from a 2-minute cache. Tests start many
            # fresh bot databases on one account; without this, a new one's first sync could get
            # an old test's response and replay its events as new.
            "caches": {"sync_response_cache_duration": 0},
            "log_config": str(self.root / "log.yaml"),
        }
        if not self.default_limits:
            config.update(relaxed_limits())
        if self.rc_message is not None:
            per_second, burst = self.rc_message
            config["rc_message"] = {"per_second": per_second, "burst_count": burst}
        return config

    def _write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        log = {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "plain",
                    "filename": str(self.root / "homeserver.log"),
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (self.root / "log.yaml").write_text(json.dumps(log), encoding="utf-8")
        path = self.root / "homeserver.json"
        path.write_text(json.dumps(self.config(), indent=1), encoding="utf-8")
        return path

    def start(self, timeout: float = 60.0) -> None:
        """Start (or restart on the same data and port) and wait until the client API answers."""
        if self.running:
            return
        config = self._write_config()
        output = open(self.root / "stdout.log", "ab")  # noqa: SIM115 - kept for the process
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        finally:
            output.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SynapseUnavailable(f"Synapse exited at start; see {self.root}/stdout.log")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/_matrix/client/versions", timeout=2),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise SynapseUnavailable(f"Synapse did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s. The data stays for the next start."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> dict[str, Any]:
        """One client-server or admin API call; raises urllib.error.HTTPError on a non-2xx."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read() or b"{}")
            return result

    def register(self, localpart: str, *, admin: bool = False, password: str = "") -> Account:
        """A user via the shared-secret admin API; the reply carries a token and a device."""
        if localpart in self.accounts:
            return self.accounts[localpart]
        password = password or f"pw-{localpart}-{self.secret[:8]}"
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        reply = self.request("POST", "/_synapse/admin/v1/register", body)
        account = Account(reply["user_id"], password, reply["access_token"], reply["device_id"])
        self.accounts[localpart] = account
        return account

    def exempt(self, user_id: str, admin: Account, exempt: bool = True) -> None:
        """Lift (or restore) the message rate limit for ``user_id``, as a deployment would."""
        path = f"/_synapse/admin/v1/users/{urllib.parse.quote(user_id)}/override_ratelimit"
        if exempt:
            self.request(
                "POST", path, {"messages_per_second": 0, "burst_count": 0}, admin.access_token
            )
        else:
            self.request("DELETE", path, None, admin.access_token)

    def __enter__(self) -> SynapseServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def available() -> bool:
    try:
        import synapse  # noqa: F401
    except ImportError:
        return False
    return True
