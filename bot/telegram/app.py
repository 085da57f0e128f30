"""The one place the Telegram Application is built (connection, rate limits, handlers, commands), and
``serve_bot``, which loads the corpus once and serves Telegram until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import time

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.question_log import QuestionLog
from bot.runtime import settle
from bot.settings import Settings
from bot.telegram import access, handlers
from bot.telegram.connection import Connection, StartError, connection_from_environment, keep_token_out_of_logs
from bot.telegram.context import CONTEXT_TYPES, BotData
from bot.telegram.library import Library, load_library
from bot.telegram.metrics import Metrics
from bot.telegram.polling import PollingOptions
from bot.telegram.serving import ServeOptions, serve
from bot.telegram.throttle import FloodLimiter
from bot.telegram.web import ListenError
from bot.texts import phrase

log = logging.getLogger("bot.run")

# Edited messages, channel posts and the like are not questions: an edit must not be answered twice.
_NEW_MESSAGE = filters.UpdateType.MESSAGE
_PRIVATE = filters.ChatType.PRIVATE
_COMMANDS = ("start", "help", "ask", "sources")  # offered in Telegram's command menu; admin ones are not
# A page to read by OCR (or from its text layer): a photo, or an image or PDF sent as a file.
_PAGE_DOCUMENT = filters.Document.IMAGE | filters.Document.PDF


async def _set_commands(application: Application) -> None:
    """Fill Telegram's command menu, in Chinese and (for English-speaking users) in English."""
    for language, code in (("zh", None), ("en", "en")):
        commands = [BotCommand(name, phrase(language, f"command_{name}")) for name in _COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


async def _stop_asker(application: Application) -> None:
    bot_data: BotData = application.bot_data
    bot_data.asker.shutdown(wait=False, cancel_futures=True)


def build_application(connection: Connection, settings: Settings, library: Library, metrics: Metrics | None = None,
                      question_log: QuestionLog | None = None) -> Application:
    """The bot, ready to be served by ``bot.telegram.serving.serve``: updates of one chat are handled
    in order by the poller (or the webhook receiver), many chats at once here."""
    metrics = metrics or Metrics()
    application = (
        ApplicationBuilder()
        .token(connection.token)
        .base_url(connection.base_url)
        .base_file_url(connection.file_url)
        .rate_limiter(FloodLimiter(settings.telegram, metrics))
        .concurrent_updates(settings.telegram.max_concurrent_updates)
        .context_types(CONTEXT_TYPES)
        .updater(None)
        .post_init(_set_commands)
        .post_shutdown(_stop_asker)
        .build()
    )
    application.bot_data.start(settings, library, metrics, question_log)
    application.add_handler(TypeHandler(Update, access.guard), group=-1)  # before every other handler
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=_NEW_MESSAGE),
            CommandHandler("help", handlers.help_command, filters=_NEW_MESSAGE),
            CommandHandler("sources", handlers.sources, filters=_NEW_MESSAGE),
            CommandHandler("ask", handlers.ask, filters=_NEW_MESSAGE),
            CommandHandler("reload", handlers.reload, filters=_NEW_MESSAGE),
            CommandHandler("stats", handlers.stats, filters=_NEW_MESSAGE),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & filters.COMMAND, handlers.help_command),
            MessageHandler(_NEW_MESSAGE & filters.TEXT & ~filters.COMMAND, handlers.text_message),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & (filters.PHOTO | _PAGE_DOCUMENT), handlers.page),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & filters.Document.ALL, handlers.document),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.not_text),
            InlineQueryHandler(handlers.inline_query),
            CallbackQueryHandler(handlers.button),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


def serve_bot(settings: Settings, quiet: bool = False) -> None:
    """Load the corpus once, then serve Telegram (long polling, or the webhook of
    ``telegram.webhook_url``) until SIGINT or SIGTERM. Raises StartError for what the operator must fix
    (no token, a token the server refuses, a listen address in use)."""
    connection = connection_from_environment()
    keep_token_out_of_logs(connection.token)
    # Opt in to PTB 23's timedelta RetryAfter.retry_after now; otherwise every 429 logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    telegram = settings.telegram
    # Until the event loop takes the signals over, SIGTERM stops the loading as Ctrl-C does.
    previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)
    try:
        started = time.perf_counter()
        library = load_library(settings, quiet=quiet)
        settle(settings)
    except KeyboardInterrupt:
        log.info("stopped while loading the corpus")
        return
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
    log.info(
        "loaded %d articles, %d paragraphs in %.2f s; %s %s",
        library.article_count,
        library.paragraph_count,
        time.perf_counter() - started,
        "webhook mode, Bot API at" if telegram.webhook_url else "polling",
        connection.server,
    )
    metrics = Metrics()
    question_log = open_question_log(settings, metrics)
    application = build_application(connection, settings, library, metrics, question_log)
    options = ServeOptions(
        polling=PollingOptions(poll_timeout=telegram.poll_timeout),
        webhook_url=telegram.webhook_url,
        listen=telegram.listen,
        metrics_listen=telegram.metrics_listen,
        state_dir=telegram.state_dir,
    )
    try:
        asyncio.run(serve(application, connection, options))
    except KeyboardInterrupt:  # Ctrl-C in the instant before the loop took the signals over
        pass
    except ListenError as exc:
        raise StartError(str(exc)) from None
    finally:
        if question_log is not None:
            question_log.close()
    log.info("stopped")


def open_question_log(settings: Settings, metrics: Metrics) -> QuestionLog | None:
    """The question log the settings ask for; None if they do not, or if it cannot be opened (the bot
    then answers without one, and says so once)."""
    if not settings.question_log.keep:
        return None
    try:
        return QuestionLog(
            settings.telegram.state_dir, settings.question_log.retention_days, on_failure=lambda: metrics.error("question_log")
        )
    except (OSError, sqlite3.Error) as exc:
        log.warning("question log not kept: cannot open it in %s (%s)", settings.telegram.state_dir, exc)
        metrics.error("question_log")
        return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
