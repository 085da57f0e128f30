"""The real bot against a misbehaving Bot API: 429s, 500s, dropped connections, hanging and conflicting
getUpdates. It keeps running and answers every question exactly once, in order within each chat.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from fake_bot_api import FakeBotApi
from traffic import (
    assert_answered_once_in_order,
    assert_within_telegram_limits,
    burst,
    chats,
    send_rates,
    wait_until_answered,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# Short long polls, so a hung getUpdates times out on the bot's side within seconds.
FAST_POLLING = {"telegram": {"poll_timeout": 1}}
OTHER_POLLER = "another instance of this bot is polling"


def test_429_on_a_fifth_of_sends_500s_and_dropped_connections(fake_api: FakeBotApi, start_bot) -> None:
    fake_api.faults.reseed(6)
    fake_api.faults.rate_limit_fraction = 0.20
    fake_api.faults.server_error_fraction = 0.05
    fake_api.faults.drop_fraction = 0.05
    bot = start_bot(fake_api, FAST_POLLING)
    # Before the burst: the bot may answer its first question before the burst call even returns.
    started = time.monotonic()
    asked = burst(fake_api, chats(private=8, groups=2, first=61000), per_chat=6, seed=6)
    wait_until_answered(fake_api, asked, timeout=180)
    assert_answered_once_in_order(fake_api, asked)
    sends = [c for c in fake_api.calls_of("sendMessage") if c.monotonic >= started]
    outcomes = Counter(c.outcome for c in sends)
    assert outcomes["rate_limited"] >= 5 and outcomes["server_error"] >= 1 and outcomes["dropped"] >= 1, outcomes
    assert outcomes["ok"] == len(asked)
    assert_within_telegram_limits(send_rates(sends))
    assert bot.process.poll() is None
    print(f"\nsend faults: {dict(outcomes)}; {len(asked)} questions answered once each in {time.monotonic() - started:.1f} s")


def test_hanging_failing_and_conflicting_getupdates(fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api, FAST_POLLING)
    faults = fake_api.faults
    faults.methods = frozenset({"getUpdates"})
    faults.reseed(7)
    faults.server_error_fraction = 0.15
    faults.drop_fraction = 0.15
    asked = []
    # Each wave of questions meets another fault on the polls that should bring it.
    for wave, fault in enumerate(("random", "hang", "conflict", "random")):
        if fault == "hang":
            faults.hang_get_updates = 1
            faults.hang_seconds = 8  # past the bot's read timeout (poll timeout + 5 s): it gives up, polls again
        elif fault == "conflict":
            faults.conflict_get_updates = 2  # a second poller, briefly (as during a restart)
        time.sleep(0.3)  # let the faulty poll arrive before the questions
        wave_asked = burst(fake_api, chats(private=4, groups=1, first=62000), per_chat=2, seed=wave)
        wait_until_answered(fake_api, wave_asked, timeout=60)
        asked += wave_asked
    assert_answered_once_in_order(fake_api, asked)
    outcomes = Counter(c.outcome for c in fake_api.calls_of("getUpdates"))
    assert {"hung", "conflict", "server_error", "dropped"} <= set(outcomes), outcomes
    assert bot.process.poll() is None
    assert OTHER_POLLER not in bot.output()  # a brief conflict is not worth alarming the operator
    print(f"\ngetUpdates faults: {dict(outcomes)}; {len(asked)} questions answered once each")


def test_a_persistent_409_tells_the_operator_another_instance_is_polling(fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api, FAST_POLLING)
    fake_api.faults.conflict_get_updates = -1
    fake_api.wait_for(lambda: fake_api.calls_of("getUpdates") and fake_api.calls_of("getUpdates")[-1].outcome == "conflict", 30)
    asked = burst(fake_api, chats(private=2, groups=1, first=63000), per_chat=2)
    line = next(l for l in bot.wait_for_output(OTHER_POLLER, timeout=60).splitlines() if OTHER_POLLER in l)
    assert "ERROR" in line and "409" in line and "Stop the other instance" in line
    assert bot.process.poll() is None and not any(fake_api.replies_to(m) for m in asked)
    fake_api.faults.conflict_get_updates = 0  # the other instance stops
    wait_until_answered(fake_api, asked, timeout=60)
    assert_answered_once_in_order(fake_api, asked)


def test_a_reply_lost_after_delivery_is_sent_again_the_at_least_once_edge(fake_api: FakeBotApi, start_bot) -> None:
    """A connection that drops after Telegram delivered the message looks exactly like one that drops
    before: the bot sends again, so that question gets two replies. This is the one duplicate the bot
    cannot avoid (the Bot API has no idempotency key); the count of extra replies equals the count of
    such drops, and no question goes unanswered."""
    fake_api.faults.reseed(8)
    fake_api.faults.drop_fraction = 0.3
    fake_api.faults.drop_after_effect = True
    start_bot(fake_api, FAST_POLLING)
    asked = burst(fake_api, chats(private=6, groups=0, first=64000), per_chat=2, seed=8)
    wait_until_answered(fake_api, asked, timeout=120)

    def replies_and_silent_deliveries() -> tuple[int, int]:
        silent = [c for c in fake_api.calls_of("sendMessage") if c.outcome == "dropped_after_effect"]
        return sum(len(fake_api.replies_to(m)) for m in asked), len(silent)

    # Each silent delivery is followed by one resend (after a back-off); wait for the last of them.
    fake_api.wait_for(lambda: (lambda r, s: r == len(asked) + s)(*replies_and_silent_deliveries()), 60)
    time.sleep(2)
    replies, silent = replies_and_silent_deliveries()
    assert silent >= 1 and replies == len(asked) + silent
    print(f"\n{silent} replies delivered but cut off: {replies} replies to {len(asked)} questions")
