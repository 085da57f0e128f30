"""`qabot run`: the Telegram bot. The only command that reaches into ``bot.telegram``, and only when it runs."""

from __future__ import annotations

import argparse

from bot.cli.errors import CommandError


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommand to the parser."""
    parser = commands.add_parser(
        "run",
        help="run the Telegram bot (long polling)",
        description="Run the Telegram bot with long polling until SIGINT or SIGTERM. The token comes from "
        "TELEGRAM_BOT_TOKEN (environment or .env); TELEGRAM_API_BASE_URL points it at another Bot API server.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the corpus once, then serve Telegram until SIGINT/SIGTERM (exit 0)."""
    from dotenv import find_dotenv, load_dotenv

    from bot.settings import load_settings
    from bot.telegram.app import serve_bot
    from bot.telegram.connection import StartError

    load_dotenv(find_dotenv(usecwd=True))  # the environment wins over .env
    settings = load_settings(args.settings)  # again: .env may have set QABOT_SETTINGS
    try:
        serve_bot(settings, args.corpus, quiet=args.quiet)
    except StartError as exc:
        raise CommandError(exc) from None
    return 0
