"""The Dockerfile's steps, replayed without a container engine (none runs on these machines).

Read from the Dockerfile itself, so the test follows the file: the first stage's COPY lines
(into an empty folder, as the build context would be) and its ``pip wheel``; the final stage's
ENV, the extras of its ``pip install``, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD.
The wheel is installed with those extras into a fresh virtual environment, ``alliance-bot run``
starts there with the image's environment (only the volume and the ports moved, as a
container's own filesystem and network would), and the HEALTHCHECK's own command must pass.

Downloads are cached in a wheelhouse (``$ALLIANCE_BOT_TEST_WHEELHOUSE``, else
``~/.cache/alliance-bot/test-wheelhouse``): every install is tried offline from it first
(``--no-index``), and only what it lacks is fetched from the package index, once. Where neither
works, the test is skipped on a developer's machine and fails in CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.botprocess import REPO, free_port

DOCKERFILE = REPO / "Dockerfile"
STEP_TIMEOUT = 240


@dataclass
class Stage:
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for word, args in self.instructions if word == keyword]

    def one(self, keyword: str) -> str:
        [args] = self.all(keyword)[-1:]  # the last one counts, as in Docker
        return args


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments)."""
    logical = re.sub(r"\\\n", " ", text)
    found: list[Stage] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, args = line.partition(" ")
        if word.upper() == "FROM":
            found.append(Stage())
        found[-1].instructions.append((word.upper(), args.strip()))
    return found


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in stage.all("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def exec_form(args: str) -> list[str]:
    """``["a", "b"]`` (the exec form) as a list; the options before it are dropped."""
    value = json.loads(args[args.index("[") :])
    assert isinstance(value, list)
    return [str(item) for item in value]


def wheelhouse() -> Path:
    given = os.environ.get("ALLIANCE_BOT_TEST_WHEELHOUSE")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(given) if given else cache / "alliance-bot" / "test-wheelhouse"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )


def offline_first(offline: list[str | Path], fetch: list[str | Path], what: str) -> None:
    """``offline`` from the wheelhouse; if it lacks something, ``fetch`` fills it, once."""
    if run(*offline).returncode == 0:
        return
    fetched = run(*fetch)
    if fetched.returncode != 0:
        message = f"could not fetch what {what} needs:\n{fetched.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    again = run(*offline)
    assert again.returncode == 0, f"{what} failed:\n{again.stderr[-3000:]}"


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except OSError:
        return 0


def test_the_image_steps_install_and_the_healthcheck_passes(tmp_path: Path) -> None:
    build, final = stages(DOCKERFILE.read_text(encoding="utf-8"))[-2:]
    env = env_of(final)
    assert env["ALLIANCE_BOT_SLACK__HOST"] == "0.0.0.0"
    assert env["ALLIANCE_BOT_HTTP__HOST"] == "0.0.0.0"
    user = final.one("USER")
    assert user not in ("root", "0") and any("useradd" in r and user in r for r in final.all("RUN"))
    assert env["ALLIANCE_BOT_DATA_DIR"] in exec_form(final.one("VOLUME"))
    exposed = set(" ".join(final.all("EXPOSE")).split())
    assert {env["ALLIANCE_BOT_SLACK__PORT"], env["ALLIANCE_BOT_HTTP__PORT"]} <= exposed
    [install] = [r for r in final.all("RUN") if "pip install" in r]
    extras = re.findall(r"\.whl\)?\[([a-z0-9_,-]+)\]", install)[0]
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert set(extras.split(",")) <= set(declared["optional-dependencies"])

    # The first stage: COPY into an empty context, then pip wheel.
    src, dist, house = tmp_path / "src", tmp_path / "dist", wheelhouse()
    src.mkdir()
    for args in build.all("COPY"):
        *sources, dest = shlex.split(args)
        for source in sources:
            origin, target = REPO / source, src / dest
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            elif dest.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(origin, target / origin.name)
            else:
                shutil.copy(origin, target)
    assert any("pip wheel" in r and "--no-deps" in r for r in build.all("RUN"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    offline = ["--no-index", "--find-links", house]
    offline_first(
        [*pip, "wheel", "--no-deps", *offline, "--wheel-dir", dist, src],
        [*pip, "wheel", "--wheel-dir", house, "hatchling"],
        "building the wheel",
    )
    [wheel] = dist.glob("alliance_bot-*.whl")

    # The final stage: the wheel with its extras, in a fresh environment.
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    python, wanted = venv / "bin" / "python", f"{wheel}[{extras}]"
    offline_first(
        [python, "-m", "pip", "-q", "install", *offline, wanted],
        [*pip, "wheel", "--wheel-dir", house, "--find-links", house, wanted],
        "installing the wheel",
    )
    for stale in house.glob("alliance_bot-*.whl"):  # the wheelhouse keeps dependencies only
        stale.unlink()

    # docker run: the image's ENV; the volume and the ports moved onto this machine.
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env.update(ALLIANCE_BOT_DATA_DIR=str(data))
    env.update(ALLIANCE_BOT_HTTP__PORT=str(free_port()), ALLIANCE_BOT_SLACK__PORT=str(free_port()))
    env.update(PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", HOME=str(home), LANG="C.UTF-8")
    where = run(python, "-c", "import adapters; print(adapters.__file__)", cwd=home)
    assert str(venv) in where.stdout, "the installed wheel, not the checkout, is what runs"
    command = exec_form(final.one("ENTRYPOINT")) + exec_form(final.one("CMD"))
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        bot = subprocess.Popen(
            [str(venv / "bin" / command[0]), *command[1:]],
            cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        check = exec_form(final.one("HEALTHCHECK"))
        assert check[0] == "python"
        deadline, passed = time.monotonic() + 60, False
        while not passed and time.monotonic() < deadline and bot.poll() is None:
            probe = subprocess.run([str(python), *check[1:]], env=env, capture_output=True)
            passed = probe.returncode == 0
            time.sleep(0.2)
        tail = log.read_text(errors="replace")[-3000:]
        assert passed, f"the HEALTHCHECK did not pass (bot exit {bot.poll()}):\n{tail}"
        port = env["ALLIANCE_BOT_HTTP__PORT"]
        deadline = time.monotonic() + 30
        while get(f"http://127.0.0.1:{port}/readyz") != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert get(f"http://127.0.0.1:{port}/readyz") == 200, log.read_text()[-3000:]
        assert (data / "alliance-bot.db").is_file(), "the database lives on the volume"
        bot.send_signal(signal.SIGTERM)  # docker stop
        assert bot.wait(timeout=60) == 0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert f"Health and metrics at http://0.0.0.0:{port}" in log.read_text()
