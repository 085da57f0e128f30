"""The bot's shared state, typed: what every handler finds in ``context.bot_data``.

As in python-telegram-bot's ``examples/contexttypesbot.py``, the application is built with
``ContextTypes(context=BotContext, bot_data=BotData)``, so ``context.bot_data`` is a ``BotData`` with
named, typed fields instead of a dict of string keys.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Callable

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.question_log import QuestionLog
from bot.settings import Settings
from bot.telegram.library import Library
from bot.telegram.metrics import Metrics


class BotData:
    """The state every handler shares. python-telegram-bot creates it empty; ``start`` fills it once,
    before the first update is handled."""

    settings: Settings
    library: Library  # the Library answering now; replaced whole on /reload or an upload, never mutated
    asker: Executor  # the executor questions are answered in, off the event loop
    corpus_lock: asyncio.Lock  # one reload or upload at a time
    metrics: Metrics
    question_log: QuestionLog | None  # None when the settings say not to keep one
    serving: bool  # connected to the Bot API and handling updates (for /healthz)
    # Notes an update as handled in the handled-updates journal, called the moment its answer is sent
    # (the poller or webhook receiver notes it again when its handling ends): the sooner it is noted,
    # the narrower the instant in which a crash makes Telegram's redelivery answer it twice.
    note_handled: Callable[[int], None]

    def start(self, settings: Settings, library: Library, metrics: Metrics | None = None,
              question_log: QuestionLog | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.question_log = question_log
        self.serving = False
        self.note_handled = _nothing
        self.use(library)
        # One thread: answering is CPU-bound and the GIL would serialise more threads anyway.
        self.asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ask")
        self.corpus_lock = asyncio.Lock()

    def use(self, library: Library) -> None:
        """Serve ``library`` from now on (questions under way keep the one they started with)."""
        self.library = library
        self.metrics.articles.set(library.article_count)
        self.metrics.paragraphs.set(library.paragraph_count)


def _nothing(update_id: int) -> None:
    """No journal (yet): nothing to note."""


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    """What every handler receives: ``context.bot_data`` is the bot's ``BotData``."""


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)
