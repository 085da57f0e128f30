"""Where the bot connects, and with what token: read from the environment, and kept out of the logs.

The token comes from ``TELEGRAM_BOT_TOKEN`` (the environment, or a ``.env`` file the command line has
read), the server from ``TELEGRAM_API_BASE_URL`` (Telegram's own by default). Anyone holding the token
controls the bot, so every log line is scrubbed of it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

DEFAULT_BASE_URL = "https://api.telegram.org/bot"

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set.
To get a token, open Telegram, talk to @BotFather, send /newbot and follow the questions; BotFather
answers with a token like 123456789:AA... Then put it in the environment or in a .env file here:
    TELEGRAM_BOT_TOKEN=123456789:AA...
(see .env.example, and the README section "Run it on Telegram")."""


class StartError(Exception):
    """The bot cannot start (no token, a malformed URL, a token the server rejects); the message says
    what to fix."""


@dataclass(frozen=True)
class Connection:
    token: str
    base_url: str
    file_url: str


def file_url_for(base_url: str) -> str:
    """The file download URL that goes with a Bot API ``base_url``, as Telegram lays them out.

    >>> file_url_for("https://api.telegram.org/bot"), file_url_for("http://127.0.0.1:8081/bot/")
    ('https://api.telegram.org/file/bot', 'http://127.0.0.1:8081/file/bot')
    """
    base = base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


def connection_from_environment() -> Connection:
    """Token, base URL and file URL from the environment; StartError says what is missing."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise StartError(_NO_TOKEN)
    if not _TOKEN_SHAPE.match(token):
        raise StartError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters, digits, _ or -)")
    base_url = os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
    file_url = os.environ.get("TELEGRAM_API_FILE_URL", "").strip() or file_url_for(base_url)
    for name, url in (("TELEGRAM_API_BASE_URL", base_url), ("TELEGRAM_API_FILE_URL", file_url)):
        if not url.startswith(("http://", "https://")):
            raise StartError(f"{name} must start with http:// or https://, got {url!r}")
    return Connection(token, base_url, file_url)


class _Redacting(logging.Formatter):
    """Formats as the formatter it wraps, then blanks out a secret wherever it appears, tracebacks too."""

    def __init__(self, inner: logging.Formatter, secret: str):
        super().__init__()
        self._inner = inner
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return self._inner.format(record).replace(self._secret, "<token>")


def keep_token_out_of_logs(token: str) -> None:
    """Quiet the loggers that print request URLs, and scrub ``token`` from every handler's output."""
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_Redacting(handler.formatter or logging.Formatter(), token))
