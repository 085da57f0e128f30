"""`qabot bench`: the speed benchmark, run by ``retrieval.measure.bench``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.errors import CommandError
from bot.settings import PROJECT_ROOT, Settings

# Where the CMRC 2018 trial file is looked for without --cmrc: the shared data folder beside the
# project, else the copy the tests carry (CC BY-SA 4.0, licence beside it).
CMRC_LOCATIONS = (
    PROJECT_ROOT.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json",
    PROJECT_ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json",
)
# Its sentences join the CMRC contexts' in the generated corpora.
SEED_PAGE = PROJECT_ROOT / "corpus" / "raw" / "newspaper-page.txt"


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommand to the parser."""
    bench = commands.add_parser(
        "bench",
        help="benchmark the index on generated corpora against rank-bm25",
        description="Generate corpora from the CMRC 2018 trial contexts and the seed page, then time "
        "tokenizing, building, loading and querying, beside rank-bm25. A benchmark, not a test.",
    )
    bench.add_argument(
        "--sizes", default="10000,100000,1000000", type=_sizes, help="paragraph counts, comma-separated (default: %(default)s)"
    )
    bench.add_argument("--questions", type=int, default=500, help="timed questions per size (default: %(default)s)")
    bench.add_argument(
        "--reference-sample",
        type=int,
        default=100,
        metavar="N",
        help="above 200,000 paragraphs rank-bm25 is timed on N questions only, labelled sampled (default: %(default)s)",
    )
    bench.add_argument("--cmrc", metavar="FILE", help="CMRC 2018 SQuAD-format file (default: ../shared/data/cmrc2018/cmrc2018_trial.json, else the copy in tests/data)")
    bench.set_defaults(handler=run_bench)


def _sizes(text: str) -> tuple[int, ...]:
    """``--sizes 10000,100000`` -> (10000, 100000); underscores allowed, each at least 100.

    >>> _sizes("10_000,100000")
    (10000, 100000)
    """
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("each size must be at least 100 paragraphs")
    return sizes


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.measure.bench import BenchError, run

    cmrc = Path(args.cmrc) if args.cmrc else next((p for p in CMRC_LOCATIONS if p.is_file()), CMRC_LOCATIONS[0])
    try:
        run(settings, args.sizes, args.questions, args.reference_sample, cmrc, SEED_PAGE, quiet=args.quiet)
    except BenchError as exc:
        raise CommandError(exc) from None
    return 0
