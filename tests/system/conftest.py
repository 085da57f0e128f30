"""Fixtures of the system tests: the stand-in Bot API server (``fake_bot_api.py``), and the real
``qabot run`` process pointed at it (``bot_process.py``).

Every bot process writes its stdout and stderr to one session-wide directory, and every stand-in server's
recorded calls are kept for the session, so the security tests can scan all of it for the token at the end
(tests marked ``after_bot_runs`` are moved to the end of the run for that reason).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bot_process import BotProcess, SessionRecord
from fake_bot_api import FakeBotApi


@pytest.fixture(scope="session")
def session_record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionRecord]:
    record = SessionRecord(tmp_path_factory.mktemp("bot-logs"))
    yield record
    for bot in record.bots:  # none may outlive the session
        bot.stop()


@pytest.fixture
def fake_api(session_record: SessionRecord) -> Iterator[FakeBotApi]:
    """A running stand-in Bot API server on 127.0.0.1 (free port), token ``DEFAULT_TOKEN``."""
    api = session_record.stand_in_server()
    try:
        yield api
    finally:
        api.stop()


StartBot = Callable[..., BotProcess]


@pytest.fixture
def start_bot(session_record: SessionRecord, tmp_path: Path) -> Iterator[StartBot]:
    """``start_bot(api, settings={"telegram": {"admins": [42]}}, wait=True)``: the session's bot
    launcher with the test's own directory as home, so the processes one test starts share their
    handled-updates journal (``tmp_path / "bot-state"``). Every process still running at the end of the
    test is stopped (SIGINT, then SIGKILL after 10 s)."""
    started: list[BotProcess] = []

    def start(api: FakeBotApi, settings: dict[str, Any] | None = None, **options: Any) -> BotProcess:
        bot = session_record.start_bot(api, tmp_path, settings, **options)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()
