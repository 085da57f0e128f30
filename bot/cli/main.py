"""The ``qabot`` command line: the parser, and the one path by which an error reaches the user.

Each group of subcommands registers itself from its own module.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli import answering, bench, corpus, index, run
from bot.cli.errors import CommandError
from bot.settings import SettingsError, load_settings
from corpus.errors import CorpusError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qabot",
        description="Answer questions about news articles by quoting the best source sentence.",
    )
    parser.add_argument("--corpus", metavar="PATH", help="articles: a directory or one file (default: settings corpus.path)")
    parser.add_argument("--settings", metavar="FILE", help="a YAML file merged over settings.yaml (or $QABOT_SETTINGS)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or informational logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (corpus, answering, index, bench, run):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        args.settings_obj = load_settings(args.settings)
        return int(args.handler(args) or 0)
    except (CommandError, CorpusError, SettingsError) as exc:
        print(f"qabot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
