"""The bot's update handlers: thin ``async def handler(update, context)`` functions.

Deciding (is this message for the bot? is the sender an admin?) is done by small pure functions here,
rendering by ``bot.telegram.format``, answering by the ``Answerer`` of the current ``Library``, which
lives in ``context.bot_data`` (a ``BotData``) and is replaced whole on /reload or an upload.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from functools import partial
from pathlib import Path
from typing import Callable

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError

from bot.question_log import Asked, log_path, new_ref, read_stats, format_stats
from bot.telegram import buttons
from bot.telegram.background import in_daemon_thread
from bot.telegram.buttons import Button, Sentence
from bot.telegram.format import (
    clip,
    fit,
    fit_lines,
    render_alternatives,
    render_answer,
    render_greeting,
    render_paragraph,
    render_quote,
    render_sources,
)
from bot.runtime import settle
from bot.settings import Settings
from bot.telegram.context import BotContext
from bot.telegram.library import Library, load_library
from bot.telegram.uploads import UPLOAD_SUFFIXES, install_page, install_upload, page_name, safe_upload_name
from bot.texts import phrase, user_language
from retrieval.answer import Answer

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_ERROR_CHARS = 1500  # of a corpus error shown to an admin
_INLINE_TITLE_CHARS = 100
_INLINE_DESCRIPTION_CHARS = 200
_LEADING_PUNCTUATION = " \t\n,，:：、"
# A private message this soon after the previous question may be a follow-up to it (那陕西呢？).
FOLLOWUP_SECONDS = 300
_REMEMBERED_ANSWERS = 50  # per chat: the bot's answers a reply can follow up on


# --- pure decisions ----------------------------------------------------------------------------------


def without_entities(text: str, entities: list[MessageEntity]) -> str:
    """``text`` with the spans of ``entities`` removed (offsets in UTF-16 units, as Telegram gives them).

    >>> without_entities("😀 @bot hi", [MessageEntity(MessageEntity.MENTION, 3, 4)])
    '😀  hi'
    """
    units = text.encode("utf-16-le")
    for entity in sorted(entities, key=lambda e: e.offset, reverse=True):
        units = units[: 2 * entity.offset] + units[2 * (entity.offset + entity.length):]
    return units.decode("utf-16-le", errors="ignore")


def _names_bot(message: Message, entity: MessageEntity, bot_username: str, bot_id: int) -> bool:
    if entity.type == MessageEntity.MENTION:
        return message.parse_entity(entity).lower() == f"@{bot_username}".lower()
    return entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id


def addressed_question(message: Message, bot_username: str, bot_id: int) -> str | None:
    """The question a text message puts to the bot, without the bot's mention; None when a group
    message is not addressed to the bot (no mention of it, and not a reply to one of its messages),
    and for an answer someone sent through the bot's inline mode, which is no question."""
    if message.via_bot is not None and message.via_bot.id == bot_id:
        return None
    text = message.text or ""
    mentions = [e for e in message.entities if _names_bot(message, e, bot_username, bot_id)]
    question = without_entities(text, mentions).strip(_LEADING_PUNCTUATION)
    if message.chat.type == ChatType.PRIVATE or mentions:
        return question
    replied = message.reply_to_message
    # In a forum every message of a topic "replies" to the topic's opening service message.
    if replied and replied.from_user and replied.from_user.id == bot_id and not replied.forum_topic_created:
        return question
    return None


def command_argument(message: Message) -> str:
    """What follows the command at the start of ``message`` (/ask@bot 问题 -> 问题), newlines kept."""
    text = message.text or ""
    commands = [e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0]
    return without_entities(text, commands[:1]).strip(_LEADING_PUNCTUATION)


def is_admin(message: Message, settings: Settings) -> bool:
    """Whether the sender is a configured admin, checked afresh on every call. A forwarded message
    carries someone else's words, so it never counts, even when an admin forwarded it."""
    user = message.from_user
    return user is not None and message.forward_origin is None and user.id in settings.telegram.admins


def answer_buttons(answer: Answer, library: Library, ref: str | None = None) -> InlineKeyboardMarkup | None:
    """The buttons under an answer: "whole paragraph" and "other results" where there is something to
    show (each names its sentences by the positions the answer carries, stamped with ``library``'s
    corpus), then 👍 and 👎, which carry ``ref``, the question's reference in the question log (👎 also
    shows the other results)."""
    if not answer.answered:
        return None
    language = answer.language
    row = []
    if answer.paragraph_id is not None and answer.sentence_index is not None:
        here = Sentence(answer.paragraph_id, answer.sentence_index)
        data = buttons.encode(Button(buttons.PARAGRAPH, language, library.stamp, (here,)))
        row.append(InlineKeyboardButton(phrase(language, "paragraph_button"), callback_data=data))
    others = tuple(Sentence(alt.paragraph_id, alt.sentence_index) for alt in answer.alternatives)
    if others:
        data = buttons.encode(Button(buttons.MORE, language, library.stamp, others))
        row.append(InlineKeyboardButton(phrase(language, "more_button"), callback_data=data))
    if ref is not None:
        helped = buttons.encode(Button(buttons.HELPED, language, library.stamp, (), ref))
        did_not = buttons.encode(Button(buttons.DID_NOT_HELP, language, library.stamp, others, ref))
        row += [InlineKeyboardButton("👍", callback_data=helped), InlineKeyboardButton("👎", callback_data=did_not)]
    return InlineKeyboardMarkup([row]) if row else None


def button_text(button: Button, library: Library) -> str:
    """The message a pressed button asks for: the whole paragraph, or the other results."""
    if button.kind == buttons.PARAGRAPH:
        found = library.find(button.sentences[0])
        if found is None:
            return phrase(button.language, "stale_button")
        article, paragraph = found
        quoted = button.sentences[0].index
        return render_paragraph(article, paragraph.sentences, quoted, paragraph.heading, button.language)
    return alternatives_text(button, library)


def alternatives_text(button: Button, library: Library) -> str:
    """The other candidates a button names, as one message."""
    items = []
    for sentence in button.sentences:
        found = library.find(sentence)
        if found is not None:
            article, paragraph = found
            items.append((paragraph.sentences[sentence.index], article))
    return render_alternatives(items, button.language)


# --- helpers ---------------------------------------------------------------------------------------


def _language(update: Update) -> str:
    user = update.effective_user
    return user_language(user.language_code if user else None)


async def _reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply to ``message`` in its chat (and forum topic), quoting it so it is clear what is answered."""
    return await message.reply_html(
        text,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        reply_markup=markup,
        link_preview_options=_NO_PREVIEW,
    )


async def _ask(context: BotContext, library: Library, question: str, after: str | None = None) -> Answer:
    """Answer off the event loop, so other chats are served while this one is searched."""
    ask = partial(library.answerer.ask, question, after=after)
    return await asyncio.get_running_loop().run_in_executor(context.bot_data.asker, ask)


def previous_question(message: Message, chat_data: dict | None, bot_id: int, now: float) -> str | None:
    """The question a follow-up may borrow from: the one the bot's replied-to answer answered, or in a
    private chat the last question asked within FOLLOWUP_SECONDS."""
    if chat_data is None:
        return None
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return chat_data.get("answered", {}).get(replied.message_id)
    last = chat_data.get("last_question")
    if message.chat.type == ChatType.PRIVATE and last and now - last[1] <= FOLLOWUP_SECONDS:
        return last[0]
    return None


def remember_question(chat_data: dict | None, question: str, sent: Message | None, now: float) -> None:
    """Note the question answered (and by which message of the bot) for the follow-ups after it."""
    if chat_data is None:
        return
    chat_data["last_question"] = (question, now)
    if sent is not None:
        answered = chat_data.setdefault("answered", {})
        answered[sent.message_id] = question
        while len(answered) > _REMEMBERED_ANSWERS:
            answered.pop(next(iter(answered)))


async def _show_typing(message: Message) -> None:
    try:
        await message.reply_chat_action(ChatAction.TYPING)
    except TelegramError as exc:  # only a courtesy: the answer matters, not the indicator
        log.debug("typing indicator not shown: %s", exc)


async def _answer(update: Update, context: BotContext, question: str, language: str) -> None:
    message = update.effective_message
    data = context.bot_data
    library = data.library
    if not question:
        example = library.examples[0] if library.examples else ""
        await _reply(message, phrase(language, "empty_question", example=example))
        return
    typing = asyncio.create_task(_show_typing(message))
    now = time.monotonic()
    after = previous_question(message, context.chat_data, context.bot.id, now)
    data.metrics.questions.inc()
    try:
        answer = await _ask(context, library, question, after)
    except Exception:
        await _reply(message, phrase(language, "answer_failed"))
        raise  # for the error handler, which logs it once with the update id
    answered_in = time.monotonic() - now
    data.metrics.answer_seconds.observe(answered_in)
    if answer.answered:
        data.metrics.answered.inc()
    await typing
    ref = new_ref() if data.question_log is not None else None
    text = render_answer(answer, library.titles, data.settings.answer.max_question_chars)
    sent = None
    try:
        sent = await _reply(message, text, answer_buttons(answer, library, ref))
        data.note_handled(update.update_id)
    finally:
        replied_in = time.monotonic() - now if sent is not None else None
        if replied_in is not None:
            data.metrics.reply_seconds.observe(replied_in)
        _log_question(data, message, answer, answered_in, replied_in, ref or new_ref())
    if answer.reason != "chitchat":
        remember_question(context.chat_data, question, sent, now)


def _log_question(data, message: Message, answer: Answer, answered_in: float, replied_in: float | None, ref: str) -> None:
    """Hand the question to the question log (which writes it in the background), if one is kept."""
    if data.question_log is None:
        return
    data.question_log.add(Asked(
        at=time.time(), chat_type=message.chat.type, chat_id=message.chat.id,
        user_id=message.from_user.id if message.from_user else None, question=answer.question,
        language=answer.language, answered=answer.answered, reason=answer.reason, article_id=answer.article_id,
        title=answer.title, score=answer.score, answer_seconds=answered_in, reply_seconds=replied_in, ref=ref,
    ))


# --- handlers --------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """/start: say what the bot does and show three questions drawn from the corpus."""
    library = context.bot_data.library
    text = render_greeting(library.article_count, library.examples, _language(update))
    await _reply(update.effective_message, text)


async def help_command(update: Update, context: BotContext) -> None:
    """/help (and any unknown command in private): how to ask, in private and in groups."""
    await _reply(update.effective_message, phrase(_language(update), "help", bot=context.bot.username))


async def sources(update: Update, context: BotContext) -> None:
    """/sources: list the articles the bot answers from."""
    await _reply(update.effective_message, render_sources(context.bot_data.library.corpus.articles(), _language(update)))


async def ask(update: Update, context: BotContext) -> None:
    """/ask QUESTION, or /ask@bot QUESTION in a group: answer the text after the command."""
    message = update.effective_message
    await _answer(update, context, command_argument(message), _language(update))


async def text_message(update: Update, context: BotContext) -> None:
    """A text message: a question in private; in a group, only when it addresses the bot."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await _answer(update, context, question, _language(update))


async def not_text(update: Update, context: BotContext) -> None:
    """A sticker, photo or other non-text message in private: say that questions are text."""
    await _reply(update.effective_message, phrase(_language(update), "not_text"))


async def button(update: Update, context: BotContext) -> None:
    """A press on "原文段落" or "其他结果": reply under the answer with the paragraph or the other results;
    on 👍 or 👎: note the feedback against the question (👎 also shows the other results)."""
    query = update.callback_query
    library = context.bot_data.library
    pressed = buttons.decode(query.data)
    if pressed is not None and pressed.kind in (buttons.HELPED, buttons.DID_NOT_HELP):
        await _feedback(query, context, pressed)
        return
    if pressed is None or pressed.stamp != library.stamp:
        language = pressed.language if pressed else _language(update)
        await query.answer(phrase(language, "stale_button"), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _reply(query.message, button_text(pressed, library))


async def _feedback(query, context: BotContext, pressed: Button) -> None:
    """👍 or 👎 pressed: recorded against the question however the corpus changed since; a 👎 also gets
    the other results, when the corpus they point into is still the one served."""
    helped = pressed.kind == buttons.HELPED
    log_ = context.bot_data.question_log
    if log_ is not None and pressed.ref:
        log_.feedback(pressed.ref, 1 if helped else -1)
    library = context.bot_data.library
    current = pressed.stamp == library.stamp
    show_more = not helped and current and pressed.sentences
    await query.answer(phrase(pressed.language, "feedback_more" if show_more else "feedback_thanks"))
    if show_more and isinstance(query.message, Message):
        await _reply(query.message, alternatives_text(pressed, library))


async def inline_query(update: Update, context: BotContext) -> None:
    """@bot question typed in any chat: offer the best answers to send; nothing for empty or long ones."""
    query = update.inline_query
    question = query.query.strip()
    settings = context.bot_data.settings
    if not question or len(question) > settings.answer.max_question_chars:
        await query.answer([], cache_time=0)
        return
    library = context.bot_data.library
    answer = await _ask(context, library, question)
    await query.answer(inline_results(answer, settings.telegram.inline_results), cache_time=30)


def inline_results(answer: Answer, limit: int) -> list[InlineQueryResultArticle]:
    """The answer and its alternatives as inline results, each a ready-to-send quoted answer."""
    if not answer.answered:
        return []
    choices = [(answer.quote, answer.highlight, answer.title, answer.source)]
    choices += [(alt.quote, None, alt.title, alt.source) for alt in answer.alternatives]
    return [
        InlineQueryResultArticle(
            id=str(number),
            title=clip(title or "", _INLINE_TITLE_CHARS),
            description=clip(quote, _INLINE_DESCRIPTION_CHARS),
            input_message_content=InputTextMessageContent(
                render_quote(quote, highlight, title, source, answer.language),
                parse_mode=ParseMode.HTML,
                link_preview_options=_NO_PREVIEW,
            ),
        )
        for number, (quote, highlight, title, source) in enumerate(choices[:limit])
    ]


async def _admitted(message: Message, language: str, settings: Settings) -> bool:
    """Whether the sender may change the corpus; anyone else is told politely that they may not."""
    if is_admin(message, settings):
        return True
    await _reply(message, phrase(language, "admin_only"))
    return False


async def _swap_library(
    context: BotContext, message: Message, language: str, load: Callable[[], Library], failure: str
) -> Library | None:
    """Run ``load`` off the event loop (one corpus change at a time) and serve what it returns. If it
    fails, whatever the reason, the library being served stays and the admin gets the error."""
    async with context.bot_data.corpus_lock:
        try:
            # A daemon thread: a stop must not wait for a long index build or OCR to end.
            library = await in_daemon_thread(load)
        except Exception as exc:
            log.warning("corpus change refused, still serving the previous corpus: %s", exc)
            await _reply(message, phrase(language, failure, error=clip(str(exc), _ERROR_CHARS)))
            return None
        context.bot_data.use(library)
        # Only now is the old library unreferenced (but by questions still under way): settle lets
        # go of what it froze of it and freezes the new one.
        settle(context.bot_data.settings)
    log.info("now serving %d articles, %d paragraphs", library.article_count, library.paragraph_count)
    return library


async def reload(update: Update, context: BotContext) -> None:
    """/reload (admins): re-read the corpus and swap it in; on failure keep serving the old one."""
    message = update.effective_message
    language = _language(update)
    settings = context.bot_data.settings
    if not await _admitted(message, language, settings):
        return
    load = partial(load_library, settings, previous=context.bot_data.library)
    library = await _swap_library(context, message, language, load, "reload_failed")
    if library is not None:
        counts = {"articles": library.article_count, "paragraphs": library.paragraph_count}
        await _reply(message, phrase(language, "reloaded", **counts, seconds=f"{library.seconds:.1f}"))


async def document(update: Update, context: BotContext) -> None:
    """A document in private: an admin's article file is added to the corpus; others are refused."""
    message = update.effective_message
    language = _language(update)
    settings = context.bot_data.settings
    if not await _admitted(message, language, settings):
        return
    upload = message.document
    name = safe_upload_name(upload.file_name)
    limit = settings.telegram.upload_max_bytes
    if name is None:
        if Path(upload.file_name or "").suffix.lower() in UPLOAD_SUFFIXES:
            await _reply(message, phrase(language, "upload_name"))
        else:
            await _reply(message, phrase(language, "upload_type", types=" ".join(UPLOAD_SUFFIXES)))
        return
    if (upload.file_size or 0) > limit:
        await _reply(message, phrase(language, "upload_size", size=upload.file_size, limit=limit))
        return
    content = bytes(await (await upload.get_file()).download_as_bytearray())
    if len(content) > limit:
        await _reply(message, phrase(language, "upload_size", size=len(content), limit=limit))
        return
    load = partial(install_upload, settings, name, content, context.bot_data.library.corpus)
    library = await _swap_library(context, message, language, load, "upload_failed")
    if library is not None:
        counts = {"articles": library.article_count, "paragraphs": library.paragraph_count}
        await _reply(message, phrase(language, "upload_done", name=name, **counts))


async def page(update: Update, context: BotContext) -> None:
    """A photo, or an image or PDF file, in private: an admin's newspaper page is read (OCR, or the
    PDF's text layer) into articles, which are checked with the rest of the corpus, written, and served
    at once; the reply lists what was found. Others are refused."""
    message = update.effective_message
    language = _language(update)
    settings = context.bot_data.settings
    if message.photo and not is_admin(message, settings):
        await not_text(update, context)  # for everyone else a photo is just not a question
        return
    if not await _admitted(message, language, settings):
        return
    # The caption names the page (sent again under the same caption, it replaces its articles).
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        upload, name = largest, page_name(message.caption, largest.file_unique_id, "photo")
    else:
        upload = message.document
        name = page_name(message.caption or upload.file_name, upload.file_unique_id, "page")
    limit = settings.telegram.page_upload_max_bytes
    if (upload.file_size or 0) > limit:
        await _reply(message, phrase(language, "upload_size", size=upload.file_size, limit=limit))
        return
    await _reply(message, phrase(language, "page_reading"))
    content = bytes(await (await upload.get_file()).download_as_bytearray())
    if len(content) > limit:
        await _reply(message, phrase(language, "upload_size", size=len(content), limit=limit))
        return
    found = []
    library = await _swap_library(
        context, message, language, partial(install_page, settings, name, content, found.append), "page_failed"
    )
    if library is not None:
        await _reply(message, render_page_report(found[0], library, language))


def render_page_report(report, library: Library, language: str) -> str:
    """What a page upload found: the articles with their paragraph counts, then the close decisions."""
    counts = {"articles": library.article_count, "paragraphs": library.paragraph_count}
    lines = [phrase(language, "page_done", name=report.page, count=len(report.articles), **counts)]
    lines += [phrase(language, "page_article", title=a.title, paragraphs=len(a.paragraphs)) for a in report.articles]
    if report.unsure:
        lines.append(phrase(language, "page_unsure", count=len(report.unsure)))
        for doubt in sorted(report.unsure, key=lambda d: (d.confidence, d.line))[:10]:
            lines.append(html.escape(f"  {doubt.line}: {doubt.text[:30]} — {doubt.decision} ({doubt.confidence:.0%})"))
    return fit_lines(lines[:1], lines[1:])


async def stats(update: Update, context: BotContext) -> None:
    """/stats (admins, in private): questions, share answered, times, feedback and the most asked
    unanswered questions, today and over the last 7 days."""
    message = update.effective_message
    language = _language(update)
    data = context.bot_data
    if not await _admitted(message, language, data.settings):
        return
    if message.chat.type != ChatType.PRIVATE:  # the questions people asked are not for a group
        await _reply(message, phrase(language, "stats_private"))
        return
    if data.question_log is None:
        await _reply(message, phrase(language, "stats_off"))
        return
    await asyncio.to_thread(data.question_log.flush, 2.0)  # include the questions just asked
    try:
        periods = await asyncio.to_thread(read_stats, log_path(data.settings.telegram.state_dir))
    except FileNotFoundError:
        await _reply(message, phrase(language, "stats_empty"))
        return
    await _reply(message, fit(lambda text: f"<pre>{html.escape(text)}</pre>", format_stats(periods, language)))


async def on_error(update: object, context: BotContext) -> None:
    """Log each failure once, with its update id; the bot goes on with the next update."""
    metrics = getattr(context.bot_data, "metrics", None)
    if metrics is not None:
        metrics.error("update")
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed: %s", update_id, context.error, exc_info=context.error)
