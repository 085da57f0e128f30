"""Question traffic for the fault, load, restart and soak tests, and the checks they share: every
question answered exactly once and in order per chat, and the send rates read from the recorded times."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psutil

from fake_bot_api import Call, FakeBotApi

# Questions about the bundled articles, and some the corpus cannot answer: both kinds get one reply.
QUESTIONS = (
    "河北取缔了多少家非法社会组织？",
    "青海省民政厅召开了什么会议？",
    "陕西落实多少小时值班制度？",
    "海南慈善事业高质量发展座谈会在哪里召开？",
    "河北省民政厅做了什么？",
    "明天北京天气怎么样？",
    "防汛救灾工作有哪些要求？",
)


def chats(private: int, groups: int, first: int = 60000) -> list[int]:
    """``private`` private chat ids and ``groups`` group ids (negative), distinct from other tests'."""
    return [first + n for n in range(private)] + [-first - n for n in range(groups)]


def ask(api: FakeBotApi, chat_id: int, question: str) -> dict[str, Any]:
    """One question as Telegram would deliver it: plain text in private, a mention in a group."""
    if chat_id > 0:
        return api.private_text(chat_id, question)
    return api.group_mention(chat_id, question, user_id=-chat_id + 1)


def burst(api: FakeBotApi, chat_ids: list[int], per_chat: int, seed: int = 0) -> list[dict[str, Any]]:
    """``per_chat`` questions from each chat, interleaved at random (seeded), all queued at once."""
    rng = random.Random(seed)
    order = [chat for chat in chat_ids for _ in range(per_chat)]
    rng.shuffle(order)
    return [ask(api, chat, rng.choice(QUESTIONS)) for chat in order]


def unanswered(api: FakeBotApi, asked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in asked if not api.replies_to(m)]


def wait_until_answered(api: FakeBotApi, asked: list[dict[str, Any]], timeout: float) -> float:
    """Wait until every question has a reply; returns when the last reply was delivered (monotonic)."""
    deadline = time.monotonic() + timeout
    remaining = list(asked)
    while remaining:
        remaining = unanswered(api, remaining)
        if not remaining:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(remaining)} of {len(asked)} questions unanswered after {timeout:.0f} s")
        time.sleep(0.2)
    time.sleep(0.5)  # a duplicate would arrive right behind
    return max(c.monotonic for c in api.calls_of("sendMessage") if c.took_effect)


def assert_answered_once_in_order(api: FakeBotApi, asked: list[dict[str, Any]]) -> None:
    """Exactly one reply per question, and in each chat the replies come in the questions' order."""
    counts = {m["message_id"]: len(api.replies_to(m)) for m in asked}
    wrong = {k: v for k, v in counts.items() if v != 1}
    assert not wrong, f"{len(wrong)} questions not answered exactly once (message id -> replies): {dict(list(wrong.items())[:10])}"
    by_chat: dict[int, list[int]] = defaultdict(list)
    for message in asked:
        by_chat[message["chat"]["id"]].append(message["message_id"])
    asked_ids = {m["message_id"] for m in asked}
    for chat, question_ids in by_chat.items():
        answered = [
            m["reply_to_message"]["message_id"] for m in api.sent_messages(chat)
            if m.get("reply_to_message", {}).get("message_id") in asked_ids
        ]
        assert answered == sorted(question_ids), f"chat {chat}: replies out of order"


@dataclass(frozen=True)
class Rates:
    sends: int  # sendMessage requests that reached the server, whatever their outcome
    seconds: float  # from the first to the last of them
    peak_per_second: int  # most sends in any window of one second
    min_chat_gap: float  # shortest time between two sends into one chat
    peak_group_per_minute: int  # most sends into one group in any window of 60 seconds

    def __str__(self) -> str:
        return (
            f"{self.sends} sends in {self.seconds:.1f} s: peak {self.peak_per_second}/s overall, "
            f"closest two in one chat {self.min_chat_gap:.2f} s apart, "
            f"peak {self.peak_group_per_minute}/min in one group"
        )


def _peak(times: list[float], window: float) -> int:
    """Most entries of sorted ``times`` inside any half-open window of ``window`` seconds."""
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def send_rates(calls: list[Call]) -> Rates:
    """Rates of the given sendMessage calls, as the server recorded them."""
    times = sorted(c.monotonic for c in calls)
    by_chat: dict[int, list[float]] = defaultdict(list)
    for call in calls:
        by_chat[int(call.params["chat_id"])].append(call.monotonic)
    gaps = [b - a for sent in by_chat.values() for a, b in zip(sorted(sent), sorted(sent)[1:])]
    group_peaks = [_peak(sorted(sent), 60.0) for chat, sent in by_chat.items() if chat < 0]
    return Rates(
        sends=len(times),
        seconds=times[-1] - times[0] if times else 0.0,
        peak_per_second=_peak(times, 1.0),
        min_chat_gap=min(gaps, default=float("inf")),
        peak_group_per_minute=max(group_peaks, default=0),
    )


def assert_within_telegram_limits(rates: Rates, tolerance: float = 0.02) -> None:
    """About 30 a second overall, 1 a second per chat, 20 a minute per group (timer slack allowed)."""
    assert rates.peak_per_second <= 30, rates
    assert rates.min_chat_gap >= 1.0 - tolerance, rates
    assert rates.peak_group_per_minute <= 20, rates


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.25):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return
            self.samples.append((time.monotonic(), rss))
            self.peak = max(self.peak, rss)
            self._stop.wait(self.interval)

    def now(self) -> int:
        rss = self.process.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def one_reply(api: FakeBotApi, message: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
    """The bot's one reply to ``message`` (waits for it; fails if a second one follows right behind)."""
    api.wait_for(lambda: api.replies_to(message), timeout)
    time.sleep(0.05)
    replies = api.replies_to(message)
    assert len(replies) == 1, replies
    return replies[0]


def button_data(message: dict[str, Any]) -> dict[str, str]:
    """Button label -> callback_data of a message the bot sent."""
    markup = message.get("_reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}
