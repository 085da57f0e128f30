"""The ``qabot`` command line: the parser, the one settings object of a run, and the one path by which
an error reaches the user.

Each group of subcommands registers itself from its own module; its handler gets the parsed arguments
and the settings, loaded once here.
"""

from __future__ import annotations

import argparse
import logging
import sys

from dotenv import find_dotenv, load_dotenv

from bot.cli import answering, bench, corpus, fit, index, run, stats
from bot.cli.arguments import add_global_options
from bot.cli.errors import CommandError
from bot.settings import Settings, SettingsError, load_settings, with_corpus_path
from corpus.errors import CorpusError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qabot",
        description="Answer questions about news articles by quoting the best source sentence.",
    )
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for module in (corpus, answering, index, bench, fit, run, stats):
        module.register(commands)
    return parser


def run_settings(args: argparse.Namespace) -> Settings:
    """The settings of this run, loaded once: ``.env`` is read first (the environment wins over it,
    and it may name QABOT_SETTINGS), then the default settings and the user's file, then ``--corpus``."""
    load_dotenv(find_dotenv(usecwd=True))
    settings = load_settings(args.settings)
    return with_corpus_path(settings, args.corpus) if args.corpus else settings


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The words this run was given, whether typed or passed by a caller in code: sys.argv is the
    # caller's own command line then (``qabot fit`` records them in the model file it writes).
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args, run_settings(args)) or 0)
    except (CommandError, CorpusError, SettingsError) as exc:
        print(f"qabot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
