"""The optional allow-list of chats (settings ``telegram.allowed_chats``).

With an empty list the bot serves every chat. With ids listed it serves only those chats (and its
admins' private chats, so they can always manage it). Anywhere else it says once that it is private;
a group that is not allowed is left right after. The check runs before every other handler, so no
question, command, button or upload from such a chat reaches the rest of the bot.
"""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.settings import TelegramSettings
from bot.telegram.context import BotContext
from bot.texts import phrase, user_language

log = logging.getLogger(__name__)

_GONE = (ChatMember.LEFT, ChatMember.BANNED)


def chat_allowed(chat_id: int, settings: TelegramSettings) -> bool:
    """Whether the bot may serve chat ``chat_id``: every chat when the allow-list is empty; else the
    listed chats, and admins' private chats (a user's private chat has the user's id).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class S:
    ...     allowed_chats: tuple = ()
    ...     admins: tuple = ()
    >>> chat_allowed(-100, S()), chat_allowed(-100, S((-200,))), chat_allowed(-200, S((-200,)))
    (True, False, True)
    >>> chat_allowed(42, S((-200,), (42,)))
    True
    """
    return not settings.allowed_chats or chat_id in settings.allowed_chats or chat_id in settings.admins


def _bot_removed(update: Update) -> bool:
    """The update only says the bot itself left or was removed: nothing may be sent there any more."""
    change = update.my_chat_member
    return change is not None and change.new_chat_member.status in _GONE


async def guard(update: Update, context: BotContext) -> None:
    """Stop every update from a chat outside the allow-list, after telling that chat the bot is private."""
    settings = context.bot_data.settings.telegram
    if not settings.allowed_chats:
        return
    chat = update.effective_chat
    user = update.effective_user
    if chat is None:
        # Inline queries carry no chat: the user's private chat stands for them.
        if user is None or chat_allowed(user.id, settings):
            return
        if update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        raise ApplicationHandlerStop
    if chat_allowed(chat.id, settings):
        return
    if not _bot_removed(update):
        await _turn_away(update, chat, user_language(user.language_code if user else None))
    raise ApplicationHandlerStop


async def _turn_away(update: Update, chat: Chat, language: str) -> None:
    log.info("chat %s is not in telegram.allowed_chats: turned away", chat.id)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(phrase(language, "private_bot"), show_alert=True)
        else:
            await chat.send_message(phrase(language, "private_bot"), parse_mode=ParseMode.HTML)
        if chat.type != Chat.PRIVATE:
            await chat.leave()
    except TelegramError as exc:  # e.g. already removed from the group: nothing more to do there
        log.info("could not turn chat %s away: %s", chat.id, exc)
