"""Shared fixtures: the stand-in Bot API server and the real ``qabot run`` process pointed at it.

Every bot process writes its stdout and stderr to one session-wide directory, and every stand-in server's
recorded calls are kept for the session, so the security tests can scan all of it for the token at the end
(tests marked ``after_bot_runs`` are moved to the end of the run for that reason).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_bot_api import FakeBotApi  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variables that could send the bot's traffic anywhere but loopback, or configure it from
# the developer's own setup instead of the test's.
_SCRUBBED_ENV = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "QABOT_SETTINGS",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_bot_runs: run after every other test (scans what the bots printed)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("after_bot_runs") is not None)


@dataclass
class SessionRecord:
    """What every bot process printed and every stand-in server received during this test session."""

    log_dir: Path
    servers: list[FakeBotApi] = field(default_factory=list)

    def log_files(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))


@pytest.fixture(scope="session")
def session_record(tmp_path_factory: pytest.TempPathFactory) -> SessionRecord:
    return SessionRecord(tmp_path_factory.mktemp("bot-logs"))


@pytest.fixture
def fake_api(session_record: SessionRecord) -> Iterator[FakeBotApi]:
    """A running stand-in Bot API server on 127.0.0.1 (free port), token ``DEFAULT_TOKEN``."""
    with FakeBotApi() as api:
        session_record.servers.append(api)
        yield api


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


StartBot = Callable[..., BotProcess]


def bot_env(api: FakeBotApi, settings_file: Path | None, token: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(
        TELEGRAM_BOT_TOKEN=token or api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    if settings_file is not None:
        env["QABOT_SETTINGS"] = str(settings_file)
    return env


@pytest.fixture
def start_bot(session_record: SessionRecord, tmp_path: Path) -> Iterator[StartBot]:
    """A factory: ``start_bot(api, settings={"telegram": {"admins": [42]}}, wait=True)`` starts the real
    ``qabot run`` against ``api``, with the given settings merged over settings.yaml, and by default
    waits until it polls. The bot's state (its handled-updates journal) lives in the test's own
    directory, shared by the processes one test starts. Every process still running at the end of the
    test is stopped (SIGINT, then SIGKILL after 10 s)."""
    started: list[BotProcess] = []

    def start(api: FakeBotApi, settings: dict[str, Any] | None = None, wait: bool = True,
              token: str | None = None, timeout: float = 60.0) -> BotProcess:
        settings = dict(settings or {})
        settings["telegram"] = {"state_dir": str(tmp_path / "bot-state"), **settings.get("telegram", {})}
        settings_file = tmp_path / f"settings-{len(started)}.yaml"
        settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        log_path = session_record.log_dir / f"{os.getpid()}-{time.monotonic_ns()}.log"
        log = open(log_path, "w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=PROJECT_ROOT,
            env=bot_env(api, settings_file, token),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        bot = BotProcess(process, log_path, api)
        started.append(bot)
        if wait:
            bot.wait_until_polling(timeout)
        return bot

    yield start
    for bot in started:
        bot.stop()
