"""Who a worker process is: a name other workers can check (host:pid:token)."""

from __future__ import annotations

import os
import secrets
import socket


def worker_gone(name: str) -> bool:
    """True when ``name`` (host:pid:token) is a worker on this host whose process is gone."""
    host, _, rest = name.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
