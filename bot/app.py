"""The one place the Telegram Application is built: connection, rate limits, handlers, commands."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

from bot import access, handlers
from bot.library import Library
from bot.settings import Settings
from bot.texts import phrase
from bot.throttle import FloodLimiter

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# Edited messages, channel posts and the like are not questions: an edit must not be answered twice.
_NEW_MESSAGE = filters.UpdateType.MESSAGE
_PRIVATE = filters.ChatType.PRIVATE
_COMMANDS = ("start", "help", "ask", "sources")  # offered in Telegram's command menu; admin ones are not


def file_url_for(base_url: str) -> str:
    """The file download URL that goes with a Bot API ``base_url``, as Telegram lays them out.

    >>> file_url_for("https://api.telegram.org/bot"), file_url_for("http://127.0.0.1:8081/bot/")
    ('https://api.telegram.org/file/bot', 'http://127.0.0.1:8081/file/bot')
    """
    base = base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


async def _set_commands(application: Application) -> None:
    """Fill Telegram's command menu, in Chinese and (for English-speaking users) in English."""
    for language, code in (("zh", None), ("en", "en")):
        commands = [BotCommand(name, phrase(language, f"command_{name}")) for name in _COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


async def _stop_asker(application: Application) -> None:
    application.bot_data[handlers.ASKER].shutdown(wait=False, cancel_futures=True)


def build_application(
    token: str,
    base_url: str,
    file_url: str,
    settings: Settings,
    library: Library,
    corpus_override: str | Path | None = None,
) -> Application:
    """The bot, ready to be served by ``bot.polling.serve``: updates of one chat are handled in order
    by the poller, many chats at once here."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url)
        .rate_limiter(FloodLimiter(settings.telegram))
        .concurrent_updates(settings.telegram.max_concurrent_updates)
        .updater(None)
        .post_init(_set_commands)
        .post_shutdown(_stop_asker)
        .build()
    )
    application.bot_data.update(
        {
            handlers.LIBRARY: library,
            handlers.SETTINGS: settings,
            handlers.CORPUS_OVERRIDE: corpus_override,
            # One thread: answering is CPU-bound and the GIL would serialise more threads anyway.
            handlers.ASKER: ThreadPoolExecutor(max_workers=1, thread_name_prefix="ask"),
            handlers.CORPUS_LOCK: asyncio.Lock(),
        }
    )
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
