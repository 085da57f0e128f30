"""Where the bot connects, and with what token: read from the environment, and kept out of the logs.

The token comes from ``TELEGRAM_BOT_TOKEN`` (the environment, or a ``.env`` file the command line has
read), the server from ``TELEGRAM_API_BASE_URL`` (Telegram's own by default). Anyone holding the token
controls the bot, so every log line is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlsplit

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

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


class Stopped(Exception):
    """SIGINT or SIGTERM came while waiting: stop now, cleanly."""


@dataclass(frozen=True)
class Connection:
    token: str
    base_url: str
    file_url: str
    webhook_secret: str  # what Telegram sends back in X-Telegram-Bot-Api-Secret-Token

    @property
    def server(self) -> str:
        """The Bot API server's address for log lines: scheme, host and path, never the token.

        >>> Connection("1:a", "http://127.0.0.1:8081/bot", "", "").server
        'http://127.0.0.1:8081/bot'
        """
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}".replace(self.token, "<token>")


@dataclass(frozen=True)
class ConnectOptions:
    first_delay: float = 1.0  # seconds before the second attempt; doubles after each failure
    max_delay: float = 60.0  # the longest wait between attempts


def webhook_secret(token: str) -> str:
    """The secret_token registered with the webhook: ``TELEGRAM_WEBHOOK_SECRET`` if set, else derived
    from the bot token (HMAC-SHA256), so that every process serving one token registers the same one
    without configuration, and the secret tells nothing about the token.

    >>> len(webhook_secret("123:abc")), webhook_secret("123:abc") == webhook_secret("123:abc")
    (64, True)
    """
    configured = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if configured:
        return configured
    return hmac.new(token.encode(), b"qabot webhook secret_token", hashlib.sha256).hexdigest()


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
    secret = webhook_secret(token)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise StartError("TELEGRAM_WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them)")
    return Connection(token, base_url, file_url, secret)


async def unless_stopped(stop: asyncio.Event, awaitable: Awaitable):
    """The result of ``awaitable``, or Stopped if ``stop`` is set first (the awaitable is then cancelled)."""
    task = asyncio.ensure_future(awaitable)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if not task.done() or task.cancelled():
        raise Stopped()
    return task.result()


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``; True if ``stop`` was set meanwhile (and the wait cut short)."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def connect(
    application: Application,
    connection: Connection,
    stop: asyncio.Event,
    register: Callable[[], Awaitable[object]],
    options: ConnectOptions = ConnectOptions(),
) -> None:
    """Reach the Bot API: getMe (the application's initialize), then ``register`` (deleteWebhook for
    polling, setWebhook for webhook mode). Failures that may pass (the server unreachable, a 5xx, a
    429) are retried with bounded exponential backoff until they succeed or ``stop`` is set (Stopped),
    each attempt logged in one line that names the server, never the token. A token the server
    refuses (401/404) or a request it rejects raises StartError."""
    delay = options.first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            await unless_stopped(stop, application.initialize())
            await unless_stopped(stop, register())
        except Stopped:
            raise
        except InvalidToken as exc:
            # PTB's own message names the token; the server's answer is the exception's cause.
            answer = exc.__cause__.message if isinstance(exc.__cause__, TelegramError) else "refused"
            answer = answer.replace(connection.token, "<token>")
            if "Parsing the server response" in answer:  # a 404 that is not even a Bot API answer
                raise StartError(
                    f"{connection.server} answered 404 Not Found: check TELEGRAM_API_BASE_URL, and the token"
                ) from None
            raise StartError(
                f"the Bot API server at {connection.server} refused TELEGRAM_BOT_TOKEN ({answer}): "
                "check the token, or ask @BotFather for a new one"
            ) from None
        except RetryAfter as exc:
            wait = max(delay, retry_seconds(exc.retry_after))
            log.warning("connecting to the Bot API at %s (attempt %d): asked to wait (429); next attempt in %.0f s",
                        connection.server, attempt, wait)
        except NetworkError as exc:  # unreachable, timed out, 5xx
            wait = delay
            log.warning("connecting to the Bot API at %s (attempt %d): %s; next attempt in %.0f s",
                        connection.server, attempt, _reason(exc), wait)
        except TelegramError as exc:
            if exc.message == "Invalid server response":
                raise StartError(f"{connection.server} does not answer as a Bot API server (check TELEGRAM_API_BASE_URL)") from None
            reason = exc.message.replace(connection.token, "<token>")
            raise StartError(f"the Bot API server at {connection.server} refused to start the bot: {reason}") from None
        else:
            bot = application.bot
            log.info("connected to the Bot API at %s as @%s (attempt %d)", connection.server, bot.username, attempt)
            return
        if await sleep_or_stop(stop, wait):
            raise Stopped()
        delay = min(delay * 2, options.max_delay)


def _reason(exc: TelegramError) -> str:
    """What went wrong, in a few words (httpx's cause where there is one, never a URL).

    >>> _reason(NetworkError("httpx.ConnectError: All connection attempts failed"))
    'cannot reach it (httpx.ConnectError: All connection attempts failed)'
    """
    return f"cannot reach it ({exc.message})" if exc.message else f"cannot reach it ({type(exc).__name__})"


def retry_seconds(period: object) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB's settings.

    >>> retry_seconds(3), retry_seconds(__import__("datetime").timedelta(seconds=2))
    (3.0, 2.0)
    """
    total = getattr(period, "total_seconds", None)
    return float(total() if total else period)


class _Redacting(logging.Formatter):
    """Formats as the formatter it wraps, then blanks out a secret wherever it appears, tracebacks too."""

    def __init__(self, inner: logging.Formatter, secret: str):
        super().__init__()
        self._inner = inner
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return self._inner.format(record).replace(self._secret, "<token>")


class _NotJsonAnswer(logging.Filter):
    """python-telegram-bot logs a traceback when a server's answer is not JSON (a wrong
    TELEGRAM_API_BASE_URL, a proxy's error page). The error it raises next is reported by the bot in
    its own words, so this duplicate, traceback and all, is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


def keep_token_out_of_logs(token: str) -> None:
    """Quiet the loggers that print request URLs, and scrub ``token`` from every handler's output."""
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("telegram.request.BaseRequest").addFilter(_NotJsonAnswer())
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_Redacting(handler.formatter or logging.Formatter(), token))
