"""`qabot run`: the Telegram bot. The only command that reaches into ``bot.telegram``, and only when it runs."""

from __future__ import annotations

import argparse

from bot.cli.arguments import global_options
from bot.cli.errors import CommandError
from bot.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommand to the parser."""
    parser = commands.add_parser(
        "run",
        parents=global_options(),
        help="run the Telegram bot (long polling)",
        description="Run the Telegram bot with long polling until SIGINT or SIGTERM. The token comes from "
        "TELEGRAM_BOT_TOKEN (environment or .env); TELEGRAM_API_BASE_URL points it at another Bot API server.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load the corpus once, then serve Telegram until SIGINT/SIGTERM (exit 0)."""
    from bot.telegram.app import serve_bot
    from bot.telegram.connection import StartError

    try:
        serve_bot(settings, quiet=args.quiet)
    except StartError as exc:
        raise CommandError(exc) from None
    return 0
