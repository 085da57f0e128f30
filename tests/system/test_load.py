"""Load: 2,000 questions from 200 chats (20 of them groups) queued at once, with faults on.

Every question is answered exactly once and in order per chat; the sends stay within Telegram's
limits as the server recorded them. The drain time and the bot's peak RSS are printed (``-s``).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from fake_bot_api import FakeBotApi
from traffic import (
    RssSampler,
    assert_answered_once_in_order,
    assert_within_telegram_limits,
    burst,
    chats,
    send_rates,
    wait_until_answered,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

QUESTIONS = 2000
PRIVATE_CHATS, GROUPS = 180, 20


def test_2000_questions_from_200_chats_with_faults(fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api, {"telegram": {"poll_timeout": 1}})
    faults = fake_api.faults
    faults.reseed(2000)
    # The fault test's 429 on a fifth of sends, plus every other kind of fault on sends and polls.
    faults.methods = frozenset({"sendMessage", "getUpdates"})
    faults.rate_limit_fraction = 0.20
    faults.server_error_fraction = 0.02
    faults.drop_fraction = 0.02
    faults.hang_get_updates = 1
    faults.hang_seconds = 7
    faults.conflict_get_updates = 2
    with RssSampler(bot.pid) as rss:
        start_rss = rss.now()
        started = time.monotonic()
        asked = burst(fake_api, chats(PRIVATE_CHATS, GROUPS, first=70000), per_chat=QUESTIONS // (PRIVATE_CHATS + GROUPS), seed=1)
        last_reply = wait_until_answered(fake_api, asked, timeout=420)
    drained = last_reply - started
    assert len(asked) == QUESTIONS
    assert_answered_once_in_order(fake_api, asked)
    sends = [c for c in fake_api.calls_of("sendMessage") if c.monotonic >= started]
    rates = send_rates(sends)
    assert_within_telegram_limits(rates)
    outcomes = Counter(c.outcome for c in fake_api.calls if c.method in faults.methods)
    assert bot.process.poll() is None
    print(
        f"\nload: {QUESTIONS} questions from {PRIVATE_CHATS + GROUPS} chats ({GROUPS} groups) drained in "
        f"{drained:.1f} s; {rates}; faults {dict(outcomes)}; bot RSS {start_rss / 2**20:.0f} MiB at start, "
        f"peak {rss.peak / 2**20:.0f} MiB"
    )
