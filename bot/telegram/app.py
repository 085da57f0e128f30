"""The one place the Telegram Application is built (connection, rate limits, handlers, commands), and
``serve_bot``, which loads the corpus once and serves Telegram until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from telegram import BotCommand, Update
from telegram.error import InvalidToken
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

from bot.settings import Settings
from bot.telegram import access, handlers
from bot.telegram.connection import Connection, StartError, connection_from_environment, keep_token_out_of_logs
from bot.telegram.context import CONTEXT_TYPES, BotData
from bot.telegram.library import Library, load_library
from bot.telegram.polling import PollingOptions, serve
from bot.telegram.throttle import FloodLimiter
from bot.texts import phrase

log = logging.getLogger("bot.run")

# Edited messages, channel posts and the like are not questions: an edit must not be answered twice.
_NEW_MESSAGE = filters.UpdateType.MESSAGE
_PRIVATE = filters.ChatType.PRIVATE
_COMMANDS = ("start", "help", "ask", "sources")  # offered in Telegram's command menu; admin ones are not


async def _set_commands(application: Application) -> None:
    """Fill Telegram's command menu, in Chinese and (for English-speaking users) in English."""
    for language, code in (("zh", None), ("en", "en")):
        commands = [BotCommand(name, phrase(language, f"command_{name}")) for name in _COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


async def _stop_asker(application: Application) -> None:
    bot_data: BotData = application.bot_data
    bot_data.asker.shutdown(wait=False, cancel_futures=True)


def build_application(connection: Connection, settings: Settings, library: Library) -> Application:
    """The bot, ready to be served by ``bot.telegram.polling.serve``: updates of one chat are handled
    in order by the poller, many chats at once here."""
    application = (
        ApplicationBuilder()
        .token(connection.token)
        .base_url(connection.base_url)
        .base_file_url(connection.file_url)
        .rate_limiter(FloodLimiter(settings.telegram))
        .concurrent_updates(settings.telegram.max_concurrent_updates)
        .context_types(CONTEXT_TYPES)
        .updater(None)
        .post_init(_set_commands)
        .post_shutdown(_stop_asker)
        .build()
    )
    application.bot_data.start(settings, library)
    application.add_handler(TypeHandler(Update, access.guard), group=-1)  # before every other handler
    application.add_handlers(
        [
            CommandHandler("start", handlers.start, filters=_NEW_MESSAGE),
            CommandHandler("help", handlers.help_command, filters=_NEW_MESSAGE),
            CommandHandler("sources", handlers.sources, filters=_NEW_MESSAGE),
            CommandHandler("ask", handlers.ask, filters=_NEW_MESSAGE),
            CommandHandler("reload", handlers.reload, filters=_NEW_MESSAGE),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & filters.COMMAND, handlers.help_command),
            MessageHandler(_NEW_MESSAGE & filters.TEXT & ~filters.COMMAND, handlers.text_message),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & filters.Document.ALL, handlers.document),
            MessageHandler(_NEW_MESSAGE & _PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, handlers.not_text),
            InlineQueryHandler(handlers.inline_query),
            CallbackQueryHandler(handlers.button),
        ]
    )
    application.add_error_handler(handlers.on_error)
    return application


def serve_bot(settings: Settings, quiet: bool = False) -> None:
    """Load the corpus once, then serve Telegram until SIGINT or SIGTERM. Raises StartError for what
    the user must fix (no token, a token the server rejects)."""
    connection = connection_from_environment()
    keep_token_out_of_logs(connection.token)
    # Opt in to PTB 23's timedelta RetryAfter.retry_after now; otherwise every 429 logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    started = time.perf_counter()
    library = load_library(settings, quiet=quiet)
    log.info(
        "loaded %d articles, %d paragraphs in %.2f s; polling %s",
        len(library.corpus.articles),
        len(library.paragraphs),
        time.perf_counter() - started,
        connection.base_url,
    )
    application = build_application(connection, settings, library)
    try:
        options = PollingOptions(poll_timeout=settings.telegram.poll_timeout, journal_dir=settings.telegram.state_dir)
        asyncio.run(serve(application, options))
    except InvalidToken:
        raise StartError("the Bot API server rejected TELEGRAM_BOT_TOKEN (ask @BotFather for a valid one)") from None
    log.info("stopped")
