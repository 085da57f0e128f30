"""End to end: the real ``qabot run`` process against the stand-in Bot API server on 127.0.0.1.

One bot process serves the whole module (starting one costs a corpus load); each test talks from its
own chats so tests do not see each other's messages. The corpus is a copy of the bundled articles in
a temporary directory, so the admin tests can add files to it. The last test stops the bot with SIGINT.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from corpus.loader import load_corpus

from bot_process import BotProcess, SessionRecord, bot_env, copy_bundled_corpus, serving_settings
from fake_bot_api import BOT_USERNAME, FakeBotApi, group_chat, make_user, private_chat
from traffic import button_data as buttons
from traffic import one_reply as reply_to

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ADMIN = 4242
HEBEI = "河北取缔了多少家非法社会组织？"
HEBEI_TITLE = "河北：打击整治非法社会组织专项行动成效显著"
HEBEI_SOURCE_LINE = f"《{HEBEI_TITLE}》（据河北省民政厅）"
QINGHAI = "青海省民政厅召开了什么会议？"
WAIT = 20.0  # seconds any single reply may take
UPLOAD_LIMIT = 20_000  # bytes; small, so the size cap can be tested with a small file


@dataclass
class Served:
    api: FakeBotApi
    bot: BotProcess
    corpus_dir: Path


@pytest.fixture(scope="module")
def served(session_record: SessionRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("bot-e2e")
    corpus_dir = copy_bundled_corpus(home)
    settings = serving_settings(corpus_dir, admins=[ADMIN], upload_max_bytes=UPLOAD_LIMIT)
    with session_record.serving(home, settings) as (api, bot):
        yield Served(api, bot, corpus_dir)


# --- helpers -----------------------------------------------------------------------------------------


def settle(api: FakeBotApi, chat_id: int, probe_user: int = 5001) -> None:
    """Wait until everything sent so far in group ``chat_id`` has been handled: updates of one chat are
    handled in order, so once an addressed question sent now is answered, the earlier ones are done."""
    probe = api.group_mention(chat_id, HEBEI, user_id=probe_user)
    reply_to(api, probe)


def corpus_sentence_text(corpus_dir: Path) -> str:
    return "\n".join(s for _, p in load_corpus(corpus_dir).paragraphs() for s in p.sentences)


# --- private chats -----------------------------------------------------------------------------------


def test_private_question_gets_the_quote_in_a_blockquote_then_the_source_line(served: Served, assert_safe_html) -> None:
    api = served.api
    question = api.private_text(1001, HEBEI)
    answer = reply_to(api, question)
    text = answer["text"]
    assert answer["_parse_mode"] == "HTML"
    quote = re.search(r"<blockquote>(.*?)</blockquote>\n(.*)", text, re.S)
    assert quote, text
    assert "<b>248家</b>" in quote.group(1)
    assert quote.group(2).strip() == HEBEI_SOURCE_LINE
    assert_safe_html(text)
    typing = api.calls_of("sendChatAction")
    assert any(c.params["chat_id"] == 1001 and c.params["action"] == "typing" for c in typing)
    assert all(len(data.encode()) <= 64 for data in buttons(answer).values())
    assert set(buttons(answer)) == {"原文段落", "其他结果", "👍", "👎"}


def test_start_shows_three_example_questions_drawn_from_the_corpus(served: Served) -> None:
    api = served.api
    text = reply_to(api, api.private_text(1002, "/start"))["text"]
    examples = re.findall(r"^• (.+)$", text, re.M)
    assert len(examples) == 3 and len(set(examples)) == 3, text
    sentences = corpus_sentence_text(served.corpus_dir)
    places = ("海南", "河北", "陕西", "青海")  # the provinces the bundled articles are about
    for example in examples:
        # Each names its subject, and is a clause of a corpus sentence (less the place, which may have
        # been put in) with its number asked for.
        assert any(place in example for place in places), example
        bare = re.sub(rf"({'|'.join(places)})省?", "", example.rstrip("？"))
        pattern = re.escape(bare).replace("多少", r"[\d.]+[万亿]?[余多]?")
        assert re.search(pattern, re.sub(rf"({'|'.join(places)})省?", "", sentences)), example
        answer = reply_to(api, api.private_text(1002, example))["text"]
        assert "<blockquote>" in answer, (example, answer)


def test_help_explains_private_and_group_use(served: Served, assert_safe_html) -> None:
    api = served.api
    text = reply_to(api, api.private_text(1003, "/help"))["text"]
    assert f"@{BOT_USERNAME}" in text and "/ask" in text and "群" in text
    assert_safe_html(text)
    text = reply_to(api, api.private_text(1003, "/sources"))["text"]
    assert HEBEI_TITLE in text


def test_ask_command(served: Served) -> None:
    api = served.api
    assert "248家" in reply_to(api, api.private_text(1004, f"/ask {HEBEI}"))["text"]
    assert "例如" in reply_to(api, api.private_text(1004, "/ask"))["text"]


def test_an_english_question_gets_english_interface_text(served: Served) -> None:
    api = served.api
    answer = reply_to(api, api.private_text(1015, "how many illegal organizations did Hebei ban"))
    assert "248家" in answer["text"] and answer["text"].startswith("Answer:")
    assert "Full paragraph" in buttons(answer)


def test_a_traditional_question_gets_its_own_lines_in_traditional_and_the_quote_as_written(served: Served) -> None:
    import opencc

    api = served.api
    text = reply_to(api, api.private_text(1017, "河北取締了多少家非法社會組織？"))["text"]
    label, quote, source = text.split("\n")
    assert label == "答案：<b>248家</b>"
    assert source == "《河北：打擊整治非法社會組織專項行動成效顯著》（據河北省民政廳）"  # one script on the line
    assert source == opencc.OpenCC("s2t").convert(source)
    assert "河北省已取缔劝散非法社会组织" in quote  # the quote stays exactly as the article has it


def test_html_in_a_question_is_never_echoed_as_markup(served: Served, assert_safe_html) -> None:
    api = served.api
    hostile = '<b>河北</b>取缔了<script>alert(1)</script>多少家非法社会组织 & <a href="http://x">?</a>'
    text = reply_to(api, api.private_text(1005, hostile))["text"]
    assert "<script>" not in text and "<a " not in text
    assert_safe_html(text)


def test_a_5000_character_question_is_asked_to_be_shortened(served: Served) -> None:
    api = served.api
    text = reply_to(api, api.private_text(1006, "河北" * 2500))["text"]
    assert "5000" in text and "1000" in text and "<blockquote>" not in text


def test_unanswerable_question_is_refused_politely_naming_the_articles(served: Served) -> None:
    api = served.api
    text = reply_to(api, api.private_text(1007, "明天北京天气怎么样？"))["text"]
    assert "抱歉" in text and HEBEI_TITLE in text and "<blockquote>" not in text


def test_sticker_gets_a_hint_in_private_and_nothing_in_a_group(served: Served) -> None:
    api = served.api
    user = make_user(1008)
    sticker = api.sticker(private_chat(user), user)
    assert "文字" in reply_to(api, sticker)["text"]
    photo = api.photo(private_chat(user), user, caption="这是什么")
    assert "文字" in reply_to(api, photo)["text"]
    group = -1008
    api.sticker(group_chat(group), make_user(5001))
    settle(api, group)
    assert len(api.sent_messages(group)) == 1  # only the probe's answer


def test_edited_question_is_not_answered_twice(served: Served) -> None:
    api = served.api
    question = api.private_text(1009, HEBEI)
    reply_to(api, question)
    api.edit(question, QINGHAI)
    reply_to(api, api.private_text(1009, "/help"))  # handled after the edit, so the edit is done
    assert len(api.replies_to(question)) == 1
    assert len(api.sent_messages(1009)) == 2


# --- groups ------------------------------------------------------------------------------------------


def test_group_mention_is_answered_as_a_reply_with_the_mention_removed(served: Served) -> None:
    api = served.api
    first = api.group_mention(-2001, HEBEI)
    last = api.group_mention(-2001, HEBEI, mention_first=False)
    linked = api.group_text_mention(-2001, HEBEI)
    for message in (first, last, linked):
        answer = reply_to(api, message)
        assert "<b>248家</b>" in answer["text"] and HEBEI_SOURCE_LINE in answer["text"]
    # The mention alone is no question: the bot asks for one instead of searching for its own name.
    assert "例如" in reply_to(api, api.group_text(-2001, f"@{BOT_USERNAME}"))["text"]


def test_group_chatter_is_ignored_with_nothing_sent(served: Served) -> None:
    api = served.api
    group = -2002
    before = len(api.calls_of("sendChatAction"))
    api.group_text(group, "今天天气不错")
    api.group_text(group, f"{HEBEI}")
    api.group_text(group, f"@someone_else {HEBEI}")
    api.group_text(group, f"/ask@other_bot {HEBEI}")
    api.group_text(group, "/start@other_bot")
    settle(api, group)
    assert len(api.sent_messages(group)) == 1  # the probe's answer only
    actions = [c for c in api.calls_of("sendChatAction")[before:] if c.params["chat_id"] == group]
    assert len(actions) == 1


def test_reply_to_the_bot_is_answered(served: Served) -> None:
    api = served.api
    answer = reply_to(api, api.group_mention(-2003, HEBEI))
    follow_up = api.reply_to_bot(answer, QINGHAI)
    assert "青海" in reply_to(api, follow_up)["text"]
    # A reply to somebody else is chatter.
    other = api.group_text(-2003, "同意", reply_to=follow_up)
    settle(api, -2003)
    assert not api.replies_to(other)


def test_small_talk_gets_a_short_reply_and_follow_ups_borrow_the_previous_question(served: Served) -> None:
    api = served.api
    hello = reply_to(api, api.private_text(1011, "你好！"))["text"]
    assert "<blockquote>" not in hello and "你好" in hello
    assert "<blockquote>" not in reply_to(api, api.private_text(1011, "thanks!"))["text"]
    # In private, the next question within minutes follows up on the last one.
    reply_to(api, api.private_text(1011, "海南省民政厅厅长是谁？"))
    assert "董杰人" in reply_to(api, api.private_text(1011, "那青海呢？"))["text"]
    # In a group, a reply to the bot's answer follows up on the question that answer answered.
    answer = reply_to(api, api.group_mention(-2011, "海南省民政厅厅长是谁？"))
    assert "董杰人" in reply_to(api, api.reply_to_bot(answer, "那青海呢？"))["text"]


def test_ask_command_in_a_group_with_and_without_the_bot_name(served: Served) -> None:
    api = served.api
    assert "248家" in reply_to(api, api.group_text(-2004, f"/ask@{BOT_USERNAME} {HEBEI}"))["text"]
    assert "248家" in reply_to(api, api.group_text(-2004, f"/ask {HEBEI}"))["text"]


def test_an_answer_in_a_forum_topic_stays_in_the_topic(served: Served) -> None:
    api = served.api
    answer = reply_to(api, api.group_mention(-2005, HEBEI, thread_id=77))
    assert answer["message_thread_id"] == 77
    follow_up = api.reply_to_bot(answer, QINGHAI)
    assert reply_to(api, follow_up)["message_thread_id"] == 77


# --- inline mode and buttons -------------------------------------------------------------------------


def test_inline_query_offers_up_to_five_answers(served: Served) -> None:
    api = served.api
    seen = len(api.calls_of("answerInlineQuery"))
    api.inline_query(3001, HEBEI)
    call = api.wait_for(lambda: api.calls_of("answerInlineQuery")[seen:], WAIT)[0]
    results = call.params["results"]
    assert 1 <= len(results) <= 5
    assert results[0]["type"] == "article" and results[0]["title"] == HEBEI_TITLE
    first = results[0]["input_message_content"]
    assert "<b>248家</b>" in first["message_text"] and first["parse_mode"] == "HTML"
    for query in ("", "   ", "河" * 1001):
        seen = len(api.calls_of("answerInlineQuery"))
        api.inline_query(3001, query)
        call = api.wait_for(lambda: api.calls_of("answerInlineQuery")[seen:], WAIT)[0]
        assert call.ok and call.params["results"] == []


def test_buttons_show_the_whole_paragraph_and_the_other_results(served: Served, assert_safe_html) -> None:
    api = served.api
    answer = reply_to(api, api.private_text(1010, HEBEI))
    data = buttons(answer)
    seen = len(api.calls_of("answerCallbackQuery"))
    api.callback_query(answer, data["原文段落"])
    paragraph = reply_to(api, answer)["text"]
    assert "<blockquote expandable>" in paragraph and "<b>专项行动以来" in paragraph
    assert paragraph.startswith(HEBEI_SOURCE_LINE)
    api.callback_query(answer, data["其他结果"])
    api.wait_for(lambda: len(api.replies_to(answer)) == 2, WAIT)
    others = api.replies_to(answer)[1]["text"]
    assert others.startswith("<b>其他结果</b>") and others.count("<blockquote>") >= 1
    assert_safe_html(paragraph)
    assert_safe_html(others)
    assert len(api.calls_of("answerCallbackQuery")[seen:]) == 2
    # A button from a corpus the bot no longer serves says so instead of showing the wrong paragraph.
    api.callback_query(answer, "pz000000:9.5")
    stale = api.wait_for(lambda: api.calls_of("answerCallbackQuery")[seen + 2:], WAIT)[0]
    assert stale.params.get("show_alert") is True and "重新提问" in stale.params["text"]


# --- admin -------------------------------------------------------------------------------------------


NEW_ARTICLE = {
    "id": "e2e-reload-article",
    "title": "甘肃省<民政厅>召开养老服务推进会",
    "source": "甘肃省民政厅",
    "paragraphs": ["会议透露，甘肃省今年新建社区养老服务站共计357个，覆盖全省主要城区。"],
}
NEW_QUESTION = "甘肃省今年新建社区养老服务站多少个？"


def test_admin_reload_picks_up_a_new_file_and_others_are_refused(served: Served, assert_safe_html) -> None:
    api = served.api
    (served.corpus_dir / "e2e-reload.yaml").write_text(yaml.safe_dump(NEW_ARTICLE, allow_unicode=True), encoding="utf-8")
    stranger = api.private_text(1011, "/reload")
    assert "管理员" in reply_to(api, stranger)["text"]
    admin = make_user(ADMIN)
    forwarded = api.forwarded(private_chat(make_user(1012)), make_user(1012), admin, "/reload")
    assert "管理员" in reply_to(api, forwarded)["text"]
    assert "357" not in reply_to(api, api.private_text(1011, NEW_QUESTION))["text"]

    done = reply_to(api, api.private_text(ADMIN, "/reload"))["text"]
    assert "5 篇文章" in done, done
    answer = reply_to(api, api.private_text(1011, NEW_QUESTION))["text"]
    assert "<b>357个</b>" in answer or "357个" in answer
    assert "《甘肃省&lt;民政厅&gt;召开养老服务推进会》" in answer  # corpus text is escaped too
    assert_safe_html(answer)


def test_a_broken_corpus_keeps_the_old_index_serving_and_tells_the_admin(served: Served) -> None:
    api = served.api
    broken = served.corpus_dir / "broken.yaml"
    broken.write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    try:
        text = reply_to(api, api.private_text(ADMIN, "/reload"))["text"]
        assert "broken.yaml" in text and "<pre>" in text
        assert "248家" in reply_to(api, api.private_text(1013, HEBEI))["text"]
    finally:
        broken.unlink()


def upload(api: FakeBotApi, user_id: int, name: str, content: bytes, forwarded_from: int | None = None) -> dict[str, Any]:
    user = make_user(user_id)
    fields = {}
    if forwarded_from is not None:
        fields["forward_origin"] = {"type": "user", "date": 0, "sender_user": make_user(forwarded_from)}
    return api.document(private_chat(user), user, name, content, **fields)


def test_admin_upload_is_answerable_at_once_and_cannot_escape_the_corpus_directory(served: Served) -> None:
    api = served.api
    article = {
        "id": "e2e-upload-article",
        "title": "宁夏民政厅开展救助政策宣传月活动",
        "paragraphs": ["活动期间，宁夏各地累计发放救助政策宣传册4.6万份。"],
    }
    content = yaml.safe_dump(article, allow_unicode=True).encode()
    outside = served.corpus_dir.parent / "escaped.yaml"
    text = reply_to(api, upload(api, ADMIN, "../escaped.yaml", content))["text"]
    assert "escaped.yaml" in text, text
    assert not outside.exists() and (served.corpus_dir / "escaped.yaml").exists()
    answer = reply_to(api, api.private_text(1014, "宁夏各地累计发放救助政策宣传册多少份？"))["text"]
    assert "4.6万份" in answer

    refused = [
        upload(api, 1014, "x.yaml", content),  # not an admin
        upload(api, 1014, "y.yaml", content, forwarded_from=ADMIN),  # an admin's file, forwarded by someone else
    ]
    for message in refused:
        assert "管理员" in reply_to(api, message)["text"]
    assert "只接受" in reply_to(api, upload(api, ADMIN, "run.sh", b"echo hi"))["text"]
    assert "太大" in reply_to(api, upload(api, ADMIN, "big.txt", b"x" * (UPLOAD_LIMIT + 1)))["text"]
    duplicate = yaml.safe_dump(dict(article, title="重复"), allow_unicode=True).encode()
    failed = reply_to(api, upload(api, ADMIN, "dup.yaml", duplicate))["text"]
    assert "e2e-upload-article" in failed and not (served.corpus_dir / "dup.yaml").exists()


# --- load --------------------------------------------------------------------------------------------


def test_a_burst_of_300_questions_from_100_chats_is_answered_once_each_within_the_rate_limits(served: Served) -> None:
    api = served.api
    questions = [HEBEI, QINGHAI, "陕西落实多少小时值班制度？"]
    privates = [40000 + n for n in range(80)]
    groups = [-40000 - n for n in range(20)]
    started = time.monotonic()
    asked = []
    for round_ in range(3):
        for chat in privates:
            asked.append(api.private_text(chat, questions[round_]))
        for chat in groups:
            asked.append(api.group_mention(chat, questions[round_]))
    api.wait_for(lambda: all(api.replies_to(m) for m in asked), 120, interval=0.2)
    time.sleep(0.5)
    assert all(len(api.replies_to(m)) == 1 for m in asked)
    sends = [c for c in api.calls_of("sendMessage") if c.monotonic >= started]
    assert len(sends) == 300
    times = sorted(c.monotonic for c in sends)
    drained = times[-1] - started
    # Overall: no 31 sends within one second.
    assert all(times[i + 30] - times[i] >= 0.99 for i in range(len(times) - 30)), "over 30 a second"
    by_chat: dict[int, list[float]] = {}
    for call in sends:
        by_chat.setdefault(int(call.params["chat_id"]), []).append(call.monotonic)
    assert len(by_chat) == 100
    for chat, sent in by_chat.items():
        sent.sort()
        assert all(b - a >= 0.99 for a, b in zip(sent, sent[1:])), f"chat {chat} over 1 a second"
        if chat < 0:
            assert all(sent[i + 20] - sent[i] >= 60 for i in range(len(sent) - 20))
    # In order within each chat: the n-th reply answers the n-th question.
    for chat in privates + groups:
        replies = api.sent_messages(chat)[-3:]
        mine = [m for m in asked if m["chat"]["id"] == chat]
        assert [r["reply_to_message"]["message_id"] for r in replies] == [m["message_id"] for m in mine]
    print(f"burst of 300 drained in {drained:.1f} s")


# --- shutdown (last: it stops the module's bot) ------------------------------------------------------


def test_sigint_stops_the_bot_cleanly_within_2_seconds_and_the_token_never_shows(served: Served) -> None:
    started = time.monotonic()
    status = served.bot.stop(signal.SIGINT, timeout=5)
    assert status == 0 and time.monotonic() - started < 2
    output = served.bot.output()
    corpus = load_corpus(PROJECT_ROOT / "corpus" / "articles")  # what the bot started with
    assert re.search(rf"loaded {len(corpus.articles)} articles, {corpus.paragraph_count} paragraphs in [\d.]+ s", output)
    assert served.api.token not in output
    assert served.api.token.split(":")[1] not in output
    assert "Traceback" not in output


def test_sigterm_stops_the_bot_cleanly_within_2_seconds(fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api)
    assert "248家" in reply_to(fake_api, fake_api.private_text(1016, HEBEI))["text"]
    started = time.monotonic()
    assert bot.stop(signal.SIGTERM, timeout=5) == 0 and time.monotonic() - started < 2


def test_without_a_token_run_explains_botfather_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in bot_env(FakeBotApi(), None).items()}
    env["TELEGRAM_BOT_TOKEN"] = ""
    command = [sys.executable, "-m", "bot", "run"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "BotFather" in done.stderr and "TELEGRAM_BOT_TOKEN" in done.stderr
