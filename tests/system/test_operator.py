"""What the operator sees, end to end: 50 questions through the real bot, the question log they leave
(ids only as salted hashes), 👍/👎 feedback, /stats for an admin (and a refusal for anyone else), and
the command line reading the same log: `qabot stats` agrees with it, `qabot unanswered` writes a
question file that `qabot eval` reads once it is filled in."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from bot_process import SessionRecord, copy_bundled_corpus, serving_settings
from fake_bot_api import FakeBotApi, make_user, private_chat
from traffic import button_data, one_reply

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ADMIN = 5938274610
# Ten-digit ids: a hash of the log cannot hold one of them by chance.
PRIVATE = [7364519000 + n for n in range(6)]
GROUP = -1009876543210
GROUP_USER = 6192837465
ANSWERABLE = ["河北取缔了多少家非法社会组织？", "青海省民政厅召开了什么会议？", "陕西落实多少小时值班制度？",
              "谁主持了海南慈善事业高质量发展座谈会？", "河北抓获了几名犯罪嫌疑人？"]
UNANSWERABLE = ["明天北京天气怎么样？", "上海的房价是多少？", "明天 北京天气怎么样?"]


def fifty_questions() -> list[str]:
    plan = []
    for n in range(50):
        pool = UNANSWERABLE if n % 5 == 4 else ANSWERABLE
        plan.append(pool[n % len(pool)])
    return plan


class Served:
    def __init__(self, api: FakeBotApi, home: Path, settings_file: Path) -> None:
        self.api, self.home, self.settings_file = api, home, settings_file

    @property
    def log(self) -> Path:
        return self.home / "bot-state" / "questions.sqlite"


@pytest.fixture(scope="module")
def served(session_record: SessionRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("operator")
    settings = serving_settings(copy_bundled_corpus(home), admins=[ADMIN], state_dir=str(home / "bot-state"))
    settings_file = home / "cli-settings.yaml"
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with session_record.serving(home, settings) as (api, bot):
        questions = []
        for n, text in enumerate(fifty_questions()):
            if n % 10 == 9:
                questions.append(api.group_mention(GROUP, text, user_id=GROUP_USER))
            else:
                questions.append(api.private_text(PRIVATE[n % len(PRIVATE)], text))
        replies = [one_reply(api, q) for q in questions]
        yield {"api": api, "bot": bot, "served": Served(api, home, settings_file), "questions": questions, "replies": replies}


def test_feedback_buttons_are_recorded_against_the_question_and_thumbs_down_offers_the_other_results(served) -> None:
    api = served["api"]
    answered = [r for r in served["replies"] if "<blockquote>" in r["text"]]
    up, down = button_data(answered[0]), button_data(answered[1])
    assert {"👍", "👎"} <= set(up) and all(len(d.encode()) <= 64 for d in up.values())
    seen = len(api.calls_of("answerCallbackQuery"))
    api.callback_query(answered[0], up["👍"])
    api.callback_query(answered[1], down["👎"])
    calls = api.wait_for(lambda: api.calls_of("answerCallbackQuery")[seen:] if len(api.calls_of("answerCallbackQuery")) >= seen + 2 else None, 20)
    assert all("谢谢反馈" in c.params.get("text", "") for c in calls)
    others = one_reply(api, answered[1])["text"]
    assert others.startswith("<b>其他结果</b>") and "<blockquote>" in others
    assert not api.replies_to(answered[0])  # 👍 sends nothing into the chat
    # The button carries a reference to the logged question, never a chat or user id.
    for data in (*up.values(), *down.values()):
        assert not any(str(abs(i)) in data for i in (*PRIVATE, GROUP, GROUP_USER))


def test_stats_for_an_admin_and_a_refusal_for_anyone_else(served) -> None:
    api = served["api"]
    text = one_reply(api, api.private_text(ADMIN, "/stats"))["text"]
    assert text.startswith("<pre>") and "今天" in text and "最近 7 天" in text
    assert "问题 50 个" in text and "👍 1" in text and "👎 1" in text
    assert "明天北京天气怎么样" in text or "明天 北京天气怎么样" in text  # the most asked unanswered
    refused = one_reply(api, api.private_text(PRIVATE[0], "/stats"))["text"]
    assert "管理员" in refused and "问题" not in refused
    forwarded = api.forwarded(private_chat(make_user(PRIVATE[1])), make_user(PRIVATE[1]), make_user(ADMIN), "/stats")
    assert "管理员" in one_reply(api, forwarded)["text"]
    in_group = one_reply(api, api.group_text(GROUP, "/stats", user_id=ADMIN))["text"]
    assert "私聊" in in_group and "<pre>" not in in_group


def test_the_log_holds_the_50_questions_without_raw_ids_and_the_command_line_agrees(served, run_qabot, tmp_path: Path) -> None:
    assert served["bot"].stop() == 0  # writes what is queued
    log = served["served"].log
    with sqlite3.connect(log) as connection:
        rows = connection.execute("SELECT * FROM question_log").fetchall()
        answered = connection.execute("SELECT COUNT(*) FROM questions WHERE answered = 1").fetchone()[0]
        users = connection.execute("SELECT COUNT(DISTINCT user) FROM questions").fetchone()[0]
    assert len(rows) == 50
    ids = [str(abs(i)) for i in (*PRIVATE, GROUP, GROUP_USER)]
    everything = repr(rows) + log.read_bytes().decode("latin-1")
    assert not any(i in everything for i in ids), "a raw id is stored"
    assert not any(value in (*PRIVATE, GROUP, GROUP_USER) for row in rows for value in row)
    assert {row[3] for row in rows} == {"private", "supergroup"}
    assert users == len(PRIVATE) + 1

    settings = str(served["served"].settings_file)
    stats = run_qabot("--settings", settings, "stats")
    assert stats.returncode == 0, stats.stderr
    today = stats.stdout.split("\n\n")[0]
    match = re.search(r"(\d+) questions, (\d+) answered \((\d+)%\), from (\d+) people", today)
    assert match, stats.stdout
    assert [int(g) for g in match.groups()] == [50, answered, round(100 * answered / 50), users]
    assert "👍 1  👎 1" in today

    out = tmp_path / "unanswered.yaml"
    written = run_qabot("--settings", settings, "unanswered", "--since", "7d", "--out", out)
    assert written.returncode == 0, written.stderr
    entries = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {e["q"] for e in entries} <= set(UNANSWERABLE) and len(entries) == 2  # the two spellings are one
    assert all(set(e) == {"q", "must", "article", "lang"} for e in entries)
    # Not yet filled in: a clear message, not a crash.
    unfilled = run_qabot("--settings", settings, "eval", out)
    assert unfilled.returncode == 2 and "not filled in yet" in unfilled.stderr and "Traceback" not in unfilled.stderr
    # Filled in (these the articles should not answer), it is scored.
    filled = [{"q": e["q"], "answered": False, "lang": e["lang"]} for e in entries]
    out.write_text(yaml.safe_dump(filled, allow_unicode=True), encoding="utf-8")
    scored = run_qabot("--settings", settings, "eval", out)
    assert scored.returncode == 0, scored.stderr
    # Grouped by the style `unanswered` wrote (lang), both refused as they should be.
    assert re.search(r"\bzh\s+2\s+2\s+1\.000", scored.stdout), scored.stdout
