"""`qabot` subcommands: telegram (`qabot run`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import time

from bot.cli import CommandError

log = logging.getLogger("bot.run")

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set.
To get a token, open Telegram, talk to @BotFather, send /newbot and follow the questions; BotFather
answers with a token like 123456789:AA... Then put it in the environment or in a .env file here:
    TELEGRAM_BOT_TOKEN=123456789:AA...
(see .env.example, and the README section "Run it on Telegram")."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    parser = commands.add_parser(
        "run",
        help="run the Telegram bot (long polling)",
        description="Run the Telegram bot with long polling until SIGINT or SIGTERM. The token comes from "
        "TELEGRAM_BOT_TOKEN (environment or .env); TELEGRAM_API_BASE_URL points it at another Bot API server.",
    )
    parser.set_defaults(handler=run)


class _Redacting(logging.Formatter):
    """Formats as the formatter it wraps, then blanks out a secret wherever it appears, tracebacks too."""

    def __init__(self, inner: logging.Formatter, secret: str):
        super().__init__()
        self._inner = inner
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return self._inner.format(record).replace(self._secret, "<token>")


def _keep_token_out_of_logs(token: str) -> None:
    # httpx logs every request URL at INFO, and a Bot API URL holds the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_Redacting(handler.formatter or logging.Formatter(), token))


def _environment() -> tuple[str, str, str]:
    """(token, base URL, file URL) from the environment and .env; CommandError says what is missing."""
    from dotenv import find_dotenv, load_dotenv

    from bot.app import DEFAULT_BASE_URL, file_url_for

    load_dotenv(find_dotenv(usecwd=True))  # the environment wins over .env
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise CommandError(_NO_TOKEN)
    if not _TOKEN_SHAPE.match(token):
        raise CommandError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters, digits, _ or -)"
        )
    base_url = os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_BASE_URL
    file_url = os.environ.get("TELEGRAM_API_FILE_URL", "").strip() or file_url_for(base_url)
    for name, url in (("TELEGRAM_API_BASE_URL", base_url), ("TELEGRAM_API_FILE_URL", file_url)):
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"{name} must start with http:// or https://, got {url!r}")
    return token, base_url, file_url


def run(args: argparse.Namespace) -> int:
    """Load the corpus once, then serve Telegram until SIGINT/SIGTERM (exit 0)."""
    token, base_url, file_url = _environment()
    _keep_token_out_of_logs(token)
    # Opt in to PTB 23's timedelta RetryAfter.retry_after now; otherwise every 429 logs a deprecation warning.
    os.environ.setdefault("PTB_TIMEDELTA", "1")

    from telegram.error import InvalidToken

    from bot.app import build_application
    from bot.library import load_library
    from bot.polling import PollingOptions, serve
    from bot.settings import load_settings

    settings = load_settings(args.settings)  # again: .env may have set QABOT_SETTINGS
    started = time.perf_counter()
    library = load_library(settings, args.corpus, quiet=args.quiet)
    log.info(
        "loaded %d articles, %d paragraphs in %.2f s; polling %s",
        len(library.corpus.articles),
        len(library.paragraphs),
        time.perf_counter() - started,
        base_url,
    )
    application = build_application(token, base_url, file_url, settings, library, args.corpus)
    try:
        options = PollingOptions(poll_timeout=settings.telegram.poll_timeout, journal_dir=settings.telegram.state_dir)
        asyncio.run(serve(application, options))
    except InvalidToken:
        raise CommandError("the Bot API server rejected TELEGRAM_BOT_TOKEN (ask @BotFather for a valid one)") from None
    log.info("stopped")
    return 0
