"""What every command's arguments share: the global options, and value types whose messages a user
understands (argparse would otherwise name the parsing function: "invalid _count value")."""

from __future__ import annotations

import argparse

_GLOBAL_OPTIONS = (
    (("--corpus",), {"metavar": "PATH", "help": "articles: a directory or one file (default: settings corpus.path)"}),
    (("--settings",), {"metavar": "FILE", "help": "a YAML file merged over the default settings, bot/data/settings.yaml (or $QABOT_SETTINGS)"}),
    (("-q", "--quiet"), {"action": "store_true", "help": "no progress bars or informational logs"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "debug logging"}),
)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The options given before the command (``qabot --corpus X ask``), with their defaults."""
    for flags, options in _GLOBAL_OPTIONS:
        parser.add_argument(*flags, **options)


def global_options(corpus: bool = True) -> list[argparse.ArgumentParser]:
    """``parents=`` for a command, so that the global options work after its name too
    (``qabot ask --corpus X``). They default to SUPPRESS there: left out after the command, an option
    keeps what was given before it (argparse would reset it)."""
    parent = argparse.ArgumentParser(add_help=False)
    for flags, options in _GLOBAL_OPTIONS:
        if corpus or flags[0] != "--corpus":
            parent.add_argument(*flags, **options, default=argparse.SUPPRESS)
    return [parent]


def whole_number(text: str) -> int:
    """A count of zero or more.

    >>> whole_number("3")
    3
    >>> whole_number("abc")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a whole number >= 0, got 'abc'
    """
    return _number(text, 0)


def positive_number(text: str) -> int:
    """A count of one or more.

    >>> positive_number("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a whole number >= 1, got '0'
    """
    return _number(text, 1)


def _number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text!r}")
    return value


def share(text: str) -> float:
    """A share between 0 and 1.

    >>> share("0.95")
    0.95
    >>> share("95%")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected a share between 0 and 1, got '95%'
    """
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value


def sizes(text: str) -> tuple[int, ...]:
    """``--sizes 10000,100000`` -> (10000, 100000); underscores allowed, each at least 100.

    >>> sizes("10_000,100000")
    (10000, 100000)
    """
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text!r}") from None
    if not values or min(values) < 100:
        raise argparse.ArgumentTypeError("each size must be at least 100 paragraphs")
    return values
