"""Soak: 20,000 questions in a row through the stand-in server (``make soak`` only; about 12 minutes,
since Telegram's 30 messages a second make 20,000 answers take at least 11).

The bot's resident memory must grow by less than 10% between the 2,000th and the 20,000th answer:
whatever it keeps per chat or per update has to be bounded, while the question log on disk grows by a
row a question. Every question is answered exactly once, in order per chat, and logged once. Figures
are printed (``make soak`` runs pytest with ``-s``).
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import pytest

from fake_bot_api import FakeBotApi
from traffic import QUESTIONS, RssSampler, ask, assert_answered_once_in_order, chats, send_rates

pytestmark = [pytest.mark.soak, pytest.mark.e2e, pytest.mark.timeout(3600)]

TOTAL = 20_000
WARM = 2_000  # the RSS baseline is taken once this many questions have been answered
BACKLOG = 600  # questions waiting at any time: steady traffic, not one giant queue
PRIVATE_CHATS, GROUPS = 950, 50


def logged(state_dir: Path) -> tuple[int, int]:
    """Rows in the bot's question log so far, and its size on disk (with the WAL) in bytes."""
    files = [state_dir / "questions.sqlite", state_dir / "questions.sqlite-wal"]
    size = sum(f.stat().st_size for f in files if f.exists())
    with sqlite3.connect(files[0], timeout=30) as connection:
        return connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0], size


def test_20000_questions_in_a_row_keep_memory_flat(fake_api: FakeBotApi, start_bot, tmp_path: Path) -> None:
    bot = start_bot(fake_api, {"telegram": {"poll_timeout": 1}})
    state_dir = tmp_path / "bot-state"
    log_at: dict[int, tuple[int, int]] = {}
    rng = random.Random(20_000)
    plan = [chat for chat in chats(PRIVATE_CHATS, GROUPS, first=90000) for _ in range(TOTAL // (PRIVATE_CHATS + GROUPS))]
    rng.shuffle(plan)
    asked: list[dict] = []
    rss_at: dict[int, int] = {}
    started = time.monotonic()
    with RssSampler(bot.pid, interval=1.0) as rss:
        start_rss = rss.now()
        answered = 0
        while answered < TOTAL:
            while len(asked) < TOTAL and len(asked) - answered < BACKLOG:
                asked.append(ask(fake_api, plan[len(asked)], rng.choice(QUESTIONS)))
            time.sleep(0.5)
            answered = len(fake_api.sent_messages())
            for milestone in range(WARM, answered + 1, WARM):
                if milestone not in rss_at:
                    rss_at[milestone] = rss.now()
                    log_at[milestone] = logged(state_dir)
            assert bot.process.poll() is None, "the bot died"
            assert time.monotonic() - started < 3000, f"only {answered} answered"
    drained = time.monotonic() - started
    time.sleep(1)
    assert_answered_once_in_order(fake_api, asked)
    rates = send_rates(fake_api.calls_of("sendMessage"))
    growth = rss_at[TOTAL] / rss_at[WARM] - 1
    curve = ", ".join(f"{n}: {v / 2**20:.0f}" for n, v in sorted(rss_at.items()))
    log_curve = ", ".join(f"{n}: {rows} rows {size / 2**20:.1f} MiB" for n, (rows, size) in sorted(log_at.items()))
    assert bot.stop() == 0
    rows, size = logged(state_dir)
    print(
        f"\nsoak: {TOTAL} questions from {PRIVATE_CHATS + GROUPS} chats answered once each in {drained:.0f} s; {rates}\n"
        f"bot RSS MiB at start {start_rss / 2**20:.0f}; after n answers: {curve}; peak {rss.peak / 2**20:.0f}\n"
        f"RSS growth from the {WARM}th to the {TOTAL}th answer: {growth:+.1%}\n"
        f"question log after n answers: {log_curve}; after the stop {rows} rows, {size / 2**20:.1f} MiB"
    )
    assert growth < 0.10
    assert rows == TOTAL  # every question logged once, the log growing while the memory did not
    assert log_at[TOTAL][0] > log_at[WARM][0]
