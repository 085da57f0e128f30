"""`qabot` subcommands that read the question log: ``stats`` (what /stats shows) and ``unanswered`` (the
questions the articles could not answer, as a question file to fill in for ``qabot eval``)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml

from bot.cli.arguments import global_options
from bot.cli.errors import CommandError
from bot.settings import Settings

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    stats = commands.add_parser(
        "stats",
        parents=global_options(corpus=False),
        help="what the question log says: questions, share answered, times, feedback, unanswered",
        description="Print, for today and the last 7 days, the number of questions asked through Telegram, the "
        "share answered, p50 and p95 answer times, feedback counts and the ten most frequent unanswered "
        "questions, from the question log in telegram.state_dir (what /stats shows an admin).",
    )
    stats.set_defaults(handler=run_stats)

    unanswered = commands.add_parser(
        "unanswered",
        parents=global_options(corpus=False),
        help="write the unanswered questions as a question file to fill in for qabot eval",
        description="Write the questions the articles did not answer (most asked first) as a YAML question file "
        "in the format of the shared seed-dev.yaml: fill in each entry's must/article (or answered: false), "
        "then score with `qabot eval FILE`.",
    )
    unanswered.add_argument("--since", default="7d", type=duration, metavar="AGE",
                            help="how far back: 30m, 12h, 7d, 2w (default: %(default)s)")
    unanswered.add_argument("--out", metavar="FILE",
                            help="where to write (default: unanswered-DATE.yaml in the current folder; - for standard output)")
    unanswered.set_defaults(handler=run_unanswered)


def duration(text: str) -> float:
    """``7d`` -> seconds.

    >>> duration("7d"), duration("12h"), duration("30m")
    (604800.0, 43200.0, 1800.0)
    >>> duration("7")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected an age such as 30m, 12h, 7d or 2w, got '7'
    """
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"expected an age such as 30m, 12h, 7d or 2w, got {text!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _log_file(settings: Settings) -> Path:
    from bot.question_log import log_path

    path = log_path(settings.telegram.state_dir)
    if not path.is_file():
        kept = "" if settings.question_log.keep else " (question_log.keep is false in the settings)"
        raise CommandError(f"no question log at {path}: the bot has not logged a question yet{kept}")
    return path


def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.question_log import format_stats, read_stats

    print(format_stats(read_stats(_log_file(settings)), "en"))
    return 0


def run_unanswered(args: argparse.Namespace, settings: Settings) -> int:
    from bot.question_log import read_unanswered

    now = time.time()
    found = read_unanswered(_log_file(settings), now - args.since, now)
    text = question_file(found, now - args.since, now)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out or f"unanswered-{datetime.fromtimestamp(now):%Y-%m-%d}.yaml")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{out}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {len(found)} unanswered questions to {out}; fill in each entry, then run: qabot eval {out}")
    return 0


def question_file(found, since: float, now: float) -> str:
    """The unanswered questions as a question file: one flow mapping a line, as ../shared/questions/
    seed-dev.yaml, with ``must`` and ``article`` left for a person to fill in.

    >>> from bot.question_log import Unanswered
    >>> print(question_file([Unanswered("下雨吗？", 2, 0.0, "zh", "no_match")], 0.0, 0.0).splitlines()[-1])  # doctest: +ELLIPSIS
    - {q: 下雨吗？, must: [], article: '', lang: zh}  # asked 2 times, last 1970-01-01 ..., no sentence matched
    """
    when = "%Y-%m-%d %H:%M"
    header = [
        f"# Questions asked through Telegram from {datetime.fromtimestamp(since):{when}} to {datetime.fromtimestamp(now):{when}}",
        "# that the articles did not answer (`qabot unanswered`), the most asked first.",
        "# Fill in each entry, then score the answers with `qabot eval FILE`:",
        "#   must: strings the right answer's sentence must hold; article: a part of its article's title",
        "#   (add the article first if the corpus lacks it), or answered: false where no article should answer.",
        "# `qabot eval` refuses entries not filled in yet and names them; delete those you do not want.",
    ]
    lines = []
    for item in found:
        entry = {"q": item.question, "must": [], "article": "", "lang": item.language or "zh"}
        flow = yaml.safe_dump(entry, allow_unicode=True, default_flow_style=True, sort_keys=False, width=1 << 20).strip()
        last = datetime.fromtimestamp(item.last_asked)
        why = "no sentence matched" if item.reason == "no_match" else "the articles speak of it but do not say"
        lines.append(f"- {flow}  # asked {item.times} times, last {last:{when}}, {why}")
    if not lines:
        lines.append("[]  # no unanswered questions in this period")
    return "\n".join(header + lines) + "\n"
