"""Security: the allow-list of chats, admin checks on every call, upload limits and names, no user text
near a shell or ``eval``, and (last of the whole run) the token absent from everything any bot printed.
"""

from __future__ import annotations

import ast
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.settings import load_settings
from bot.texts import phrase
from bot.uploads import UPLOAD_SUFFIXES, safe_upload_name
from conftest import PROJECT_ROOT, SessionRecord
from fake_bot_api import DEFAULT_TOKEN, FakeBotApi, make_user, private_chat

pytestmark = pytest.mark.timeout(300)

ADMIN = 4242
ALLOWED_GROUP = -1001000
ALLOWED_USER = 2001
OTHER_GROUP = -1002000
OTHER_USER = 3001
QUESTION = "河北取缔了多少家非法社会组织？"
WAIT = 20.0


def only_reply(api: FakeBotApi, message: dict[str, Any]) -> dict[str, Any]:
    """The bot's one reply to ``message``; fails if it sends two."""
    api.wait_for(lambda: api.replies_to(message), WAIT)
    time.sleep(0.1)
    replies = api.replies_to(message)
    assert len(replies) == 1, replies
    return replies[0]


def served(message: dict[str, Any]) -> bool:
    """Whether the bot's message is a real reply (an answer or a polite no-answer), not a turn-away."""
    return message["text"] not in (phrase("zh", "private_bot"), phrase("en", "private_bot"))


def settle(api: FakeBotApi, chat_id: int = ALLOWED_USER) -> None:
    """Updates are handled in order per chat and the poller confirms only finished ones; once a probe
    sent now is answered and confirmed, everything sent before it has been handled."""
    probe = api.private_text(chat_id, QUESTION)
    only_reply(api, probe)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "articles"
    shutil.copytree(PROJECT_ROOT / "corpus" / "articles", target)
    return target


def base_settings(corpus_dir: Path, **telegram: Any) -> dict[str, Any]:
    return {
        "corpus": {"path": str(corpus_dir)},
        "index": {"cache_dir": str(corpus_dir.parent / "cache")},
        "telegram": {"admins": [ADMIN], **telegram},
    }


# --- the allow-list ----------------------------------------------------------------------------------


def test_allow_list_serves_listed_chats_and_turns_others_away(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    start_bot(fake_api, base_settings(corpus_copy, allowed_chats=[ALLOWED_GROUP, ALLOWED_USER]))
    api = fake_api

    assert served(only_reply(api, api.private_text(ALLOWED_USER, QUESTION)))
    assert served(only_reply(api, api.group_mention(ALLOWED_GROUP, QUESTION)))
    assert served(only_reply(api, api.private_text(ADMIN, QUESTION)))  # admins always

    # A group that is not listed is told once that the bot is private, and left.
    stranger_group = api.group_mention(OTHER_GROUP, QUESTION)
    api.wait_for(lambda: api.left_chats, WAIT)
    assert api.left_chats == [OTHER_GROUP]
    told = api.sent_messages(OTHER_GROUP)
    assert len(told) == 1 and not served(told[0])
    assert not api.replies_to(stranger_group)

    # A private chat that is not listed is told the same, and gets no answer (there is nothing to leave).
    english_speaker = make_user(OTHER_USER, language_code="en")
    api.private_text(OTHER_USER, QUESTION, user=english_speaker)
    api.private_text(OTHER_USER, "/reload", user=english_speaker)
    api.wait_for(lambda: len(api.sent_messages(OTHER_USER)) >= 2, WAIT)
    settle(api)
    texts = [m["text"] for m in api.sent_messages(OTHER_USER)]
    assert len(texts) == 2 and all(t == phrase("en", "private_bot") for t in texts), texts
    assert api.left_chats == [OTHER_GROUP]

    # Inline queries carry no chat: a user outside the list gets an empty answer, one inside real ones.
    api.inline_query(OTHER_USER, QUESTION)
    api.inline_query(ALLOWED_USER, QUESTION)
    inline = api.wait_for(lambda: len(c := api.calls_of("answerInlineQuery", ok_only=True)) >= 2 and c, WAIT)
    by_user = {c.params["inline_query_id"]: c.params["results"] for c in inline}
    assert sorted(len(results) > 0 for results in by_user.values()) == [False, True]


def test_without_an_allow_list_every_chat_is_served(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    start_bot(fake_api, base_settings(corpus_copy))
    assert served(only_reply(fake_api, fake_api.group_mention(OTHER_GROUP, QUESTION)))
    assert served(only_reply(fake_api, fake_api.private_text(OTHER_USER, QUESTION)))
    assert fake_api.left_chats == []
