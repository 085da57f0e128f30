"""The bot's handlers, decisions and rendering, with no network: Telegram calls go to a recording bot.

Answers here are made by hand (a stub answerer), so these tests pin the bot's behaviour independently
of the retrieval pipeline; the end-to-end tests check the two together.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from telegram import Chat, Message, MessageEntity, Update, User
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import ExtBot

from bot.settings import load_settings
from bot.telegram import buttons, handlers
from bot.telegram.buttons import Button, Sentence
from bot.telegram.context import BotData
from bot.telegram.format import (
    render_alternatives,
    render_answer,
    render_greeting,
    render_paragraph,
    render_quote,
    render_sources,
)
from bot.telegram.library import Library, counted_questions, still_answered
from bot.telegram.throttle import FloodLimiter, SlidingWindow
from bot.telegram.uploads import safe_upload_name
from corpus.stored import MemoryCorpus
from corpus.model import Article, ArticleInfo, Corpus, Paragraph
from retrieval.answer import Alternative, Answer

BOT_ID = 777
BOT_NAME = "qa_test_bot"
ADMIN = 99
_DEFAULTS = load_settings()
SETTINGS = replace(_DEFAULTS, telegram=replace(_DEFAULTS.telegram, admins=(ADMIN,)))


# --- a tiny corpus and a stub answerer ---------------------------------------------------------------


def _paragraph(article_id: str, position: int, sentences: tuple[str, ...], heading: str | None = None) -> Paragraph:
    return Paragraph(article_id, position, heading, "".join(sentences), sentences)


ARTICLES = (
    Article("a", "甲地<开展>行动", (_paragraph("a", 0, ("行动以来，甲地关闭作坊12家。", "其余整改。"), "成效"),), source="甲厅"),
    Article("b", "乙地会议", (_paragraph("b", 0, ("乙地召开会议。",)),), source="乙厅"),
)
CORPUS = Corpus(ARTICLES)


class StubAnswerer:
    """Answers every question with the first sentence of the corpus, and one alternative."""

    def ask(self, question: str, after: str | None = None) -> Answer:
        if len(question) > SETTINGS.answer.max_question_chars:
            return Answer(question, False, "zh", reason="too_long")
        if "天气" in question:
            return Answer(question, False, "zh", reason="no_match")
        return Answer(
            question, True, "en" if question.isascii() else "zh",
            quote="行动以来，甲地关闭作坊12家。", highlight="12家", title=ARTICLES[0].title, source="甲厅",
            article_id="a", paragraph=ARTICLES[0].paragraphs[0].text, paragraph_id=0, sentence_index=0,
            alternatives=(Alternative("乙地召开会议。", "乙地会议", "b", 1.0, 1, 0, "乙厅"),),
        )


LIBRARY = Library(MemoryCorpus(CORPUS), StubAnswerer(), ("甲地关闭作坊多少家？",), 0.0)


class RecordingBot(ExtBot):
    """A bot whose requests are recorded and answered locally, as the Bot API would."""

    def __init__(self) -> None:
        super().__init__(token="1:offline")
        object.__setattr__(self, "calls", [])

    async def _do_post(self, endpoint: str, data: dict[str, Any], **kwargs: Any) -> Any:
        self.calls.append((endpoint, data))
        if endpoint == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "QA", "username": BOT_NAME}
        if endpoint == "sendMessage":
            return {"message_id": 1000 + len(self.calls), "date": 0, "text": data["text"],
                    "chat": {"id": data["chat_id"], "type": "private" if int(data["chat_id"]) > 0 else "supergroup"}}
        return True

    def sent(self) -> list[dict[str, Any]]:
        return [data for endpoint, data in self.calls if endpoint == "sendMessage"]


def run_handler(handler, update_data: dict[str, Any], failing: bool = False) -> RecordingBot:
    """Run ``handler`` on the update; with ``failing``, the exception it must raise is kept as ``bot.error``."""
    async def go() -> RecordingBot:
        bot = RecordingBot()
        await bot.initialize()
        bot.calls.clear()
        update = Update.de_json(update_data, bot)
        bot_data = BotData()
        bot_data.start(SETTINGS, LIBRARY)
        context = SimpleNamespace(bot=bot, chat_data={}, bot_data=bot_data)
        try:
            await handler(update, context)
        except Exception as exc:
            if not failing:
                raise
            object.__setattr__(bot, "error", exc)
        else:
            assert not failing, "the handler was expected to raise"
        return bot

    return asyncio.run(go())


def message_update(text: str | None, chat_id: int = 5, user_id: int = 5, **fields: Any) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
    message = {"message_id": 1, "date": 0, "chat": chat, "from": {"id": user_id, "is_bot": False, "first_name": "U"}}
    if text is not None:
        message["text"] = text
    message.update(fields)
    return {"update_id": 1, "message": message}


def mention(text: str, handle: str = f"@{BOT_NAME}") -> list[dict[str, Any]]:
    start = text.index(handle)
    return [{"type": "mention", "offset": len(text[:start].encode("utf-16-le")) // 2, "length": len(handle)}]


# --- deciding who is addressed -----------------------------------------------------------------------


def message(
    text: str, chat_type: str = Chat.SUPERGROUP, entities=(), reply_to: Message | None = None, **fields: Any
) -> Message:
    chat = Chat(-5 if chat_type != Chat.PRIVATE else 5, chat_type)
    return Message(1, None, chat, from_user=User(5, "U", False), text=text, entities=list(entities),
                   reply_to_message=reply_to, **fields)


def test_private_text_is_a_question_and_a_mention_of_the_bot_is_removed() -> None:
    assert handlers.addressed_question(message("河北？", Chat.PRIVATE), BOT_NAME, BOT_ID) == "河北？"
    text = f"😀@{BOT_NAME} 河北？"
    entity = MessageEntity(MessageEntity.MENTION, 2, len(BOT_NAME) + 1)
    assert handlers.addressed_question(message(text, entities=[entity]), BOT_NAME, BOT_ID) == "😀 河北？"


def test_group_messages_count_only_when_they_address_the_bot() -> None:
    bot_user = User(BOT_ID, "QA", True, username=BOT_NAME)
    other = MessageEntity(MessageEntity.MENTION, 0, 9)
    assert handlers.addressed_question(message("@someone1 问题", entities=[other]), BOT_NAME, BOT_ID) is None
    assert handlers.addressed_question(message("问题"), BOT_NAME, BOT_ID) is None
    linked = MessageEntity(MessageEntity.TEXT_MENTION, 0, 2, user=bot_user)
    assert handlers.addressed_question(message("QA，问题", entities=[linked]), BOT_NAME, BOT_ID) == "问题"
    shouted = MessageEntity(MessageEntity.MENTION, 3, len(BOT_NAME) + 1)
    shouting = message(f"问题 @{BOT_NAME.upper()}", entities=[shouted])
    assert handlers.addressed_question(shouting, BOT_NAME, BOT_ID) == "问题"
    from_bot = Message(2, None, Chat(-5, Chat.SUPERGROUP), from_user=bot_user, text="答")
    assert handlers.addressed_question(message("追问", reply_to=from_bot), BOT_NAME, BOT_ID) == "追问"
    from_person = Message(2, None, Chat(-5, Chat.SUPERGROUP), from_user=User(6, "P", False), text="话")
    assert handlers.addressed_question(message("同意", reply_to=from_person), BOT_NAME, BOT_ID) is None



def test_a_follow_up_borrows_the_question_its_reply_or_the_recent_private_question_answered() -> None:
    bot_user = User(BOT_ID, "QA", True, username=BOT_NAME)
    chat_data: dict = {}
    answer_message = Message(77, None, Chat(-5, Chat.SUPERGROUP), from_user=bot_user, text="答")
    handlers.remember_question(chat_data, "甲地关闭了多少家？", answer_message, now=100.0)
    # A reply to the bot's answer follows up on the question that answer answered, however late.
    group_reply = message("那乙地呢？", reply_to=answer_message)
    assert handlers.previous_question(group_reply, chat_data, BOT_ID, now=10_000.0) == "甲地关闭了多少家？"
    # In a group, a message that replies to nothing is no follow-up.
    assert handlers.previous_question(message("那乙地呢？"), chat_data, BOT_ID, now=101.0) is None
    # In private, the next message within a few minutes is; later it stands on its own.
    private = message("那乙地呢？", Chat.PRIVATE)
    assert handlers.previous_question(private, chat_data, BOT_ID, now=100.0 + handlers.FOLLOWUP_SECONDS) == "甲地关闭了多少家？"
    assert handlers.previous_question(private, chat_data, BOT_ID, now=101.0 + handlers.FOLLOWUP_SECONDS) is None


def test_an_answer_sent_through_inline_mode_is_not_taken_for_a_question() -> None:
    bot_user = User(BOT_ID, "QA", True, username=BOT_NAME)
    assert handlers.addressed_question(message("答案：248家", Chat.PRIVATE, via_bot=bot_user), BOT_NAME, BOT_ID) is None
    other_bot = User(BOT_ID + 1, "Other", True, username="other_bot")
    assert handlers.addressed_question(message("问题", Chat.PRIVATE, via_bot=other_bot), BOT_NAME, BOT_ID) == "问题"


def test_command_argument_keeps_the_whole_question() -> None:
    text = f"/ask@{BOT_NAME} 第一行\n第二行"
    command = MessageEntity(MessageEntity.BOT_COMMAND, 0, len(BOT_NAME) + 5)
    assert handlers.command_argument(message(text, entities=[command])) == "第一行\n第二行"


def test_admin_is_checked_against_settings_and_forwarding_does_not_count() -> None:
    admin = Message(1, None, Chat(ADMIN, Chat.PRIVATE), from_user=User(ADMIN, "A", False), text="/reload")
    assert handlers.is_admin(admin, SETTINGS)
    stranger = Message(1, None, Chat(7, Chat.PRIVATE), from_user=User(7, "S", False), text="/reload")
    assert not handlers.is_admin(stranger, SETTINGS)
    origin = {"type": "user", "date": 0, "sender_user": {"id": 1, "is_bot": False, "first_name": "X"}}
    data = message_update("/reload", ADMIN, ADMIN, forward_origin=origin)
    forwarded = Update.de_json(data, None).message
    assert not handlers.is_admin(forwarded, SETTINGS)


# --- handlers, against the recording bot -------------------------------------------------------------


def test_private_question_is_answered_with_typing_html_reply_and_buttons() -> None:
    bot = run_handler(handlers.text_message, message_update("甲地关闭了多少家？"))
    assert [endpoint for endpoint, _ in bot.calls] == ["sendChatAction", "sendMessage"]
    sent = bot.sent()[0]
    assert sent["parse_mode"] == "HTML" and sent["reply_parameters"]["message_id"] == 1
    assert "<blockquote>行动以来，甲地关闭作坊<b>12家</b>。</blockquote>" in sent["text"]
    assert "《甲地&lt;开展&gt;行动》（据甲厅）" in sent["text"]
    keyboard = sent["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in keyboard] == ["原文段落", "其他结果"]
    assert buttons.decode(keyboard[0]["callback_data"]).sentences == (Sentence(0, 0),)
    assert buttons.decode(keyboard[1]["callback_data"]).sentences == (Sentence(1, 0),)


def test_unaddressed_group_message_sends_nothing_at_all() -> None:
    assert run_handler(handlers.text_message, message_update("甲地关闭了多少家？", chat_id=-9)).calls == []


def test_group_mention_is_answered_in_the_topic() -> None:
    text = f"@{BOT_NAME} 甲地关闭了多少家？"
    update = message_update(text, chat_id=-9, entities=mention(text), message_thread_id=4, is_topic_message=True)
    bot = run_handler(handlers.text_message, update)
    assert bot.sent()[0]["message_thread_id"] == 4


def test_unanswerable_and_overlong_questions_get_polite_replies() -> None:
    refusal = run_handler(handlers.text_message, message_update("明天天气？")).sent()[0]["text"]
    assert "抱歉" in refusal and "甲地&lt;开展&gt;行动" in refusal
    assert "reply_markup" not in run_handler(handlers.text_message, message_update("明天天气？")).sent()[0]
    long = run_handler(handlers.text_message, message_update("长" * 5000)).sent()[0]["text"]
    assert "5000" in long and str(SETTINGS.answer.max_question_chars) in long


def test_english_question_gets_english_buttons() -> None:
    sent = run_handler(handlers.text_message, message_update("how many workshops closed")).sent()[0]
    assert sent["text"].startswith("Answer: <b>12家</b>")
    assert [b["text"] for b in sent["reply_markup"]["inline_keyboard"][0]] == ["Full paragraph", "More results"]


def test_a_failing_answerer_still_gets_the_user_a_reply_and_the_error_goes_on_to_be_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(question: str, after: str | None = None) -> Answer:
        raise ValueError("index corrupt")

    monkeypatch.setattr(LIBRARY.answerer, "ask", broken)
    bot = run_handler(handlers.text_message, message_update("甲地关闭了多少家？"), failing=True)
    assert isinstance(bot.error, ValueError)
    assert "出错" in bot.sent()[0]["text"]


def test_non_admin_reload_is_refused_without_touching_the_corpus() -> None:
    assert "管理员" in run_handler(handlers.reload, message_update("/reload", 7, 7)).sent()[0]["text"]


def test_buttons_point_at_the_sentences_the_answer_names() -> None:
    """The buttons carry the positions the answerer reports, never a search for the quote's text
    (which finds the wrong sentence when a paragraph says the same thing twice)."""
    twice = Answer(
        "q", True, "zh", quote="其余整改。", paragraph_id=0, sentence_index=2,
        alternatives=(Alternative("其余整改。", "乙地会议", "b", 1.0, 1, 3, None),),
    )
    paragraph, more = handlers.answer_buttons(twice, LIBRARY).inline_keyboard[0]
    assert buttons.decode(paragraph.callback_data).sentences == (Sentence(0, 2),)
    assert buttons.decode(more.callback_data).sentences == (Sentence(1, 3),)


def test_button_shows_paragraph_or_alternatives_and_refuses_stale_data() -> None:
    def press(data: str) -> RecordingBot:
        answer_message = {"message_id": 50, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x",
                          "from": {"id": BOT_ID, "is_bot": True, "first_name": "QA"}}
        query = {"id": "q1", "from": {"id": 5, "is_bot": False, "first_name": "U"}, "chat_instance": "c",
                 "message": answer_message, "data": data}
        return run_handler(handlers.button, {"update_id": 2, "callback_query": query})

    paragraph = press(buttons.encode(Button(buttons.PARAGRAPH, "zh", LIBRARY.stamp, (Sentence(0, 0),))))
    text = paragraph.sent()[0]["text"]
    assert "<blockquote expandable><b>行动以来，甲地关闭作坊12家。</b>其余整改。</blockquote>" in text
    assert "<i>成效</i>" in text
    others = press(buttons.encode(Button(buttons.MORE, "zh", LIBRARY.stamp, (Sentence(1, 0),)))).sent()[0]["text"]
    assert "乙地召开会议。" in others and "《乙地会议》" in others
    stale = press(buttons.encode(Button(buttons.PARAGRAPH, "en", "ffffff", (Sentence(0, 0),))))
    assert stale.sent() == []
    alert = next(data for endpoint, data in stale.calls if endpoint == "answerCallbackQuery")
    assert alert["show_alert"] is True and "ask again" in alert["text"]


def test_inline_query_offers_answer_and_alternatives_and_nothing_for_empty_queries() -> None:
    def query(text: str) -> list[Any]:
        sender = {"id": 5, "is_bot": False, "first_name": "U"}
        update = {"update_id": 3, "inline_query": {"id": "i1", "from": sender, "query": text, "offset": ""}}
        bot = run_handler(handlers.inline_query, update)
        return next(data for endpoint, data in bot.calls if endpoint == "answerInlineQuery")["results"]

    results = query("甲地关闭了多少家？")
    assert [r.title for r in results] == ["甲地<开展>行动", "乙地会议"]
    assert "<b>12家</b>" in results[0].input_message_content.message_text
    assert "《乙地会议》（据乙厅）" in results[1].input_message_content.message_text
    assert query("") == [] and query(" ") == [] and query("长" * 1001) == []


# --- rendering ---------------------------------------------------------------------------------------


markup_text = st.text(alphabet=st.sampled_from(list("<>&\"'ab河北。，！…😀\n ")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(markup_text, markup_text, markup_text, st.none() | markup_text, st.integers(1, 40))
def test_any_answer_renders_to_safe_html_within_the_limit(
    assert_safe_html, quote: str, highlight: str, title: str, source: str | None, repeat: int
) -> None:
    text = render_quote(quote * repeat, highlight or None, title, source, "zh")
    assert_safe_html(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(markup_text, min_size=1, max_size=30), st.integers(1, 60), st.integers(0, 40), st.lists(markup_text, max_size=80))
def test_paragraphs_alternatives_and_lists_render_to_safe_html_within_the_limit(
    assert_safe_html, sentences: list[str], repeat: int, quoted: int, titles: list[str]
) -> None:
    sentences = [sentence * repeat for sentence in sentences]
    articles = [ArticleInfo(str(n), title * repeat, source=title or None) for n, title in enumerate(titles)]
    assert_safe_html(render_paragraph(ARTICLES[0], sentences, quoted, "<h>", "zh-Hant"))
    assert_safe_html(render_alternatives([(s, a) for s, a in zip(sentences, articles)], "en"))
    assert_safe_html(render_sources(articles, "zh"))
    assert_safe_html(render_greeting(len(articles), [s[:100] for s in sentences[:3]], "en"))


def test_a_long_quote_is_cut_at_a_sentence_boundary_and_keeps_the_source_line(assert_safe_html) -> None:
    quote = "".join(f"第{n}句话讲了一件事。" for n in range(1000))
    answer = Answer("q", True, "zh", quote=quote, highlight="第1句", title="标题", source="来源")
    text = render_answer(answer, (), 1000)
    assert_safe_html(text)
    body = re.search(r"<blockquote>(.*)</blockquote>", text, re.S).group(1)
    assert body.endswith("。……")
    assert text.endswith("《标题》（据来源）")


def test_a_long_paragraph_keeps_the_quoted_sentence(assert_safe_html) -> None:
    sentences = [f"第{n}句。" for n in range(2000)]
    text = render_paragraph(ARTICLES[0], sentences, 1500, None, "en")
    assert_safe_html(text)
    assert "<b>第1500句。</b>" in text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 999)), min_size=1, max_size=10),
    st.sampled_from(["zh", "zh-Hant", "en"]),
)
def test_callback_data_fits_64_bytes_and_round_trips(pairs: list[tuple[int, int]], language: str) -> None:
    button = Button(buttons.MORE, language, "a1b2c3", tuple(Sentence(p, i) for p, i in pairs))
    data = buttons.encode(button)
    assert len(data.encode()) <= 64
    decoded = buttons.decode(data)
    assert decoded.language == language and decoded.sentences == button.sentences[: len(decoded.sentences)]


@pytest.mark.parametrize(
    "name", ["../../x.yaml", "/etc/x.yaml", "..\\..\\x.yaml", "./.x.yaml", "a/../../x.jsonl", "%2e%2e/x.txt", "x.yaml\x00.sh"]
)
def test_upload_names_never_leave_the_corpus_directory(name: str) -> None:
    safe = safe_upload_name(name)
    assert safe is None or ("/" not in safe and "\\" not in safe and not safe.startswith(".") and ".." not in safe)


def test_example_questions_ask_for_the_counted_number() -> None:
    assert counted_questions("据统计，本市今年新建公园绿地共计35处，面积扩大。") == ["本市今年新建公园绿地共计多少处？"]
    assert counted_questions("会议于2024年召开。") == []


def test_a_reload_keeps_the_examples_only_while_each_is_answered_the_same_way() -> None:
    class Moved(StubAnswerer):
        def ask(self, question: str, after: str | None = None) -> Answer:
            return replace(super().ask(question), quote="乙地召开会议。")

    assert still_answered(LIBRARY, StubAnswerer()) == LIBRARY.examples
    assert still_answered(LIBRARY, Moved()) == ()
    assert still_answered(replace(LIBRARY, examples=("甲地今天天气如何？",)), StubAnswerer()) == ()


# --- flood limits ------------------------------------------------------------------------------------


def test_sliding_window_never_admits_more_than_its_limit_in_a_period() -> None:
    async def go() -> list[float]:
        window = SlidingWindow(2, 0.2)
        ends: list[float] = []

        async def call() -> None:
            async with window.slot():
                await asyncio.sleep(0.01)
                ends.append(time.monotonic())

        await asyncio.gather(*(call() for _ in range(6)))
        return ends

    ends = asyncio.run(go())
    assert all(b - a >= 0.2 for a, b in zip(ends, ends[2:]))


def test_flood_limiter_resends_after_network_errors_and_429_but_not_bad_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # as `qabot run` sets it
    limiter = FloodLimiter(SETTINGS.telegram)

    async def go(failures: list[Exception]) -> tuple[Any, int]:
        attempts = 0

        async def send(*args: Any, **kwargs: Any) -> Any:
            nonlocal attempts
            attempts += 1
            if failures:
                raise failures.pop(0)
            return {"ok": attempts}

        try:
            result = await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 5}, None)
        except Exception as exc:  # the outcome under test
            result = exc
        return result, attempts

    assert asyncio.run(go([NetworkError("reset"), RetryAfter(timedelta(0))])) == ({"ok": 3}, 3)
    result, attempts = asyncio.run(go([BadRequest("bad")]))
    assert isinstance(result, BadRequest) and attempts == 1


# --- the token in logs -------------------------------------------------------------------------------


def test_log_lines_and_tracebacks_never_show_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from bot.telegram.connection import keep_token_out_of_logs

    token = "123456:SECRET-token_value"
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        keep_token_out_of_logs(token)
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        try:
            raise RuntimeError(f"GET https://api.telegram.org/bot{token}/getMe failed")
        except RuntimeError:
            logging.getLogger("test").exception("request to /bot%s/sendMessage", token)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "SECRET" not in err and err.count("<token>") == 2 and "Traceback" in err
