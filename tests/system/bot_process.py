"""Running the real ``qabot run`` against the stand-in Bot API server: the bot process, its
environment, and the session's record of every process started and every server used.

The record keeps what every bot process printed (one log file each, in one session-wide directory)
and every stand-in server's calls, so the security test can scan all of it for the token at the end.
``SessionRecord.start_bot`` is the one place a bot process is started from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from bot.settings import PROJECT_ROOT
from fake_bot_api import FakeBotApi

# Environment variables that could send the bot's traffic anywhere but loopback, or configure it from
# the developer's own setup instead of the test's.
_SCRUBBED_ENV = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_API_FILE_URL", "QABOT_SETTINGS",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)


@dataclass
class BotProcess:
    """A running ``qabot run``; its stdout and stderr go to ``log_path``."""

    process: subprocess.Popen
    log_path: Path
    api: FakeBotApi

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, timeout: float = 30.0) -> str:
        """Wait until ``text`` appears in the output; returns the whole output."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.output()
            if text in out:
                return out
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited ({self.process.returncode}) before printing {text!r}:\n{out}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{text!r} not printed within {timeout}s:\n{out[-4000:]}")
            time.sleep(0.05)

    def wait_until_polling(self, timeout: float = 60.0) -> None:
        """Wait until the bot has loaded its corpus and sent its first getUpdates."""
        deadline = time.monotonic() + timeout
        while not self.api.offsets:
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited ({self.process.returncode}) before polling:\n{self.output()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"bot did not poll within {timeout}s:\n{self.output()[-4000:]}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait up to ``timeout`` s; a bot that does not exit by then is killed and
        the returned status is -SIGKILL, so the caller's assertion fails."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                return -signal.SIGKILL
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no clean-up, no final getUpdates, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    @property
    def pid(self) -> int:
        return self.process.pid


def bot_env(api: FakeBotApi, settings_file: Path | None, token: str | None = None, base_url: str | None = None) -> dict[str, str]:
    """The environment of a bot process: the stand-in server's URL and token, loopback only, and none
    of the developer's own Telegram or qabot settings."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(
        TELEGRAM_BOT_TOKEN=token or api.token,
        TELEGRAM_API_BASE_URL=base_url or api.base_url,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    if settings_file is not None:
        env["QABOT_SETTINGS"] = str(settings_file)
    return env


@dataclass
class SessionRecord:
    """What every bot process printed and every stand-in server received during this test session,
    and the one place bot processes are started from."""

    log_dir: Path
    servers: list[FakeBotApi] = field(default_factory=list)
    bots: list[BotProcess] = field(default_factory=list)

    def log_files(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def stand_in_server(self) -> FakeBotApi:
        """A started stand-in Bot API server (127.0.0.1, a free port) whose calls the session keeps."""
        api = FakeBotApi().start()
        self.servers.append(api)
        return api

    def start_bot(self, api: FakeBotApi, home: Path, settings: dict[str, Any] | None = None, wait: bool = True,
                  token: str | None = None, timeout: float = 60.0, base_url: str | None = None) -> BotProcess:
        """Start the real ``qabot run`` against ``api``, in ``home`` (its working directory, so no
        developer's .env is found), with ``settings`` merged over settings.yaml; by default wait until
        it polls. Its handled-updates journal lives in ``home/bot-state`` unless the settings say
        otherwise, so the processes of one home share it (as a restarted bot does) and no others do.
        A bot in webhook mode (``telegram.webhook_url`` set) is waited for until it has registered."""
        home.mkdir(parents=True, exist_ok=True)
        settings = dict(settings or {})
        settings["telegram"] = {"state_dir": str(home / "bot-state"), **settings.get("telegram", {})}
        settings_file = home / f"settings-{time.monotonic_ns()}.yaml"
        settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        log_path = self.log_dir / f"{os.getpid()}-{time.monotonic_ns()}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=home,
                env=bot_env(api, settings_file, token, base_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        bot = BotProcess(process, log_path, api)
        self.bots.append(bot)
        if wait and settings["telegram"].get("webhook_url"):
            bot.wait_for_output("webhook registered", timeout)
        elif wait:
            bot.wait_until_polling(timeout)
        return bot

    @contextlib.contextmanager
    def serving(self, home: Path, settings: dict[str, Any], timeout: float = 90.0) -> Iterator[tuple[FakeBotApi, BotProcess]]:
        """A stand-in server and a bot started against it (see ``start_bot``), both stopped on leaving."""
        api = self.stand_in_server()
        try:
            bot = self.start_bot(api, home, settings, timeout=timeout)
            try:
                yield api, bot
            finally:
                bot.stop()
        finally:
            api.stop()


def copy_bundled_corpus(home: Path) -> Path:
    """A copy of the bundled articles in ``home/articles``, for a bot whose corpus a test changes."""
    corpus_dir = home / "articles"
    shutil.copytree(PROJECT_ROOT / "corpus" / "articles", corpus_dir)
    return corpus_dir


def serving_settings(corpus_dir: Path, **telegram: Any) -> dict[str, Any]:
    """Settings that serve ``corpus_dir``, with its index cache beside it, and these ``telegram`` ones."""
    return {
        "corpus": {"path": str(corpus_dir)},
        "index": {"cache_dir": str(corpus_dir.parent / "cache")},
        "telegram": telegram,
    }


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a bot's webhook or metrics server."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET (or POST ``body``) ``url`` on loopback; returns the status and the body, errors included."""
    import urllib.error
    import urllib.request

    assert url.startswith("http://127.0.0.1:"), url  # tests talk to loopback only
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
