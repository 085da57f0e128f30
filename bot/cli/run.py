"""`qabot run`: the Telegram bot. The only command that reaches into ``bot.telegram``, and only when it runs."""

from __future__ import annotations

import argparse

from bot.cli.arguments import global_options
from bot.cli.errors import CommandError
from bot.settings import Settings, with_telegram


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommand to the parser."""
    parser = commands.add_parser(
        "run",
        parents=global_options(),
        help="run the Telegram bot (long polling, or a webhook)",
        description="Run the Telegram bot until SIGINT or SIGTERM: long polling, or with --webhook a webhook "
        "behind a reverse proxy. The token comes from TELEGRAM_BOT_TOKEN (environment or .env); "
        "TELEGRAM_API_BASE_URL points it at another Bot API server. An unreachable server is retried until "
        "stopped; a token it refuses is an error (exit status 2).",
    )
    parser.add_argument(
        "--webhook", metavar="URL",
        help="webhook mode: the public HTTPS URL Telegram posts updates to (setting telegram.webhook_url)",
    )
    parser.add_argument(
        "--listen", metavar="HOST:PORT",
        help="where the webhook server listens; it also serves /healthz and /metrics (telegram.listen, default 127.0.0.1:8080)",
    )
    parser.add_argument(
        "--metrics", metavar="HOST:PORT",
        help="in polling mode, serve /healthz and /metrics here (telegram.metrics_listen)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Load the corpus once, then serve Telegram until SIGINT/SIGTERM (exit 0)."""
    from bot.telegram.app import serve_bot
    from bot.telegram.connection import StartError

    changes = {"webhook_url": args.webhook, "listen": args.listen, "metrics_listen": args.metrics}
    settings = with_telegram(settings, **{key: value for key, value in changes.items() if value})
    try:
        serve_bot(settings, quiet=args.quiet)
    except StartError as exc:
        raise CommandError(exc) from None
    return 0
