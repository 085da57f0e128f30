"""Messages that are no question: greetings, thanks, laughter, "are you there", commands typed as text.

Such a message gets a short friendly reply (or, in a terminal chat, the chat's own action), never a
quote from the articles. The phrases live in ``retrieval/data/chitchat.yaml``; a message is chit-chat
when it is wholly made of them, so "你好，河北取缔了多少家？" stays a question.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import yaml

from retrieval.tokenize import normalise

# Tried in this order when a message holds phrases of several kinds: "thanks, bye" is a goodbye.
KINDS = ("exit", "help", "goodbye", "thanks", "greeting", "acknowledgement", "laughter")
_MAX_CHARS = 40  # longer messages are questions, whatever they start with
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@lru_cache(maxsize=1)
def _phrases() -> dict[str, frozenset[str]]:
    text = resources.files("retrieval").joinpath("data/chitchat.yaml").read_text(encoding="utf-8")
    kinds = yaml.safe_load(text)["kinds"]
    return {kind: frozenset(_squeezed(str(p)) for lang in ("zh", "en") for p in kinds[kind][lang]) for kind in KINDS}


def _squeezed(text: str) -> str:
    """Lower-case Simplified text without punctuation, symbols, emoji or spaces (a lone "?" or a
    leading slash stays, so "/help" and "?" are still recognised).

    >>> _squeezed("  Hi!! 👋"), _squeezed("謝謝！"), _squeezed("/help"), _squeezed("？")
    ('hi', '谢谢', '/help', '?')
    """
    text = normalise(text).strip()
    if text in ("?", "/help", "/start", "/exit", "/quit", ":q"):
        return text
    return _NOT_WORD.sub("", text)


def chitchat_kind(text: str) -> str | None:
    """The kind of small talk ``text`` is, or None for anything that may be a question.

    >>> chitchat_kind("你好"), chitchat_kind("谢谢！"), chitchat_kind("hello there"), chitchat_kind("好的 明白了")
    ('greeting', 'thanks', 'greeting', 'acknowledgement')
    >>> chitchat_kind("exit"), chitchat_kind("/help"), chitchat_kind("在吗"), chitchat_kind("哈哈哈哈")
    ('exit', 'help', 'greeting', 'laughter')
    >>> chitchat_kind("你好，浙江关停了多少家网吧？") is None, chitchat_kind("ok google") is None
    (True, True)
    """
    if not text or len(text) > _MAX_CHARS:
        return None
    kinds = _split_into_phrases(_squeezed(text), _phrases())
    return next((kind for kind in KINDS if kind in kinds), None) if kinds else None


def _split_into_phrases(text: str, phrases: dict[str, frozenset[str]]) -> set[str] | None:
    """The kinds of the (squeezed) phrases ``text`` is wholly made of, longest phrases first; None if it is not.
    Laughter repeats (哈哈哈哈), so a run of one character of a laughter phrase counts as laughter."""
    if not text:
        return set()
    if len(set(text)) == 1 and text[0] in {c for p in phrases["laughter"] for c in p}:
        return {"laughter"}
    best: dict[int, set[str] | None] = {len(text): set()}
    for end in range(len(text) - 1, -1, -1):
        best[end] = None
        for stop in range(len(text), end, -1):
            rest = best.get(stop)
            if rest is None:
                continue
            for kind in KINDS:
                if text[end:stop] in phrases[kind]:
                    best[end] = rest | {kind}
                    break
            if best[end] is not None:
                break
    return best[0]
