"""`qabot bench`: the speed benchmark, run by ``retrieval.measure.bench``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.arguments import global_options, positive_number, sizes
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
        parents=global_options(corpus=False),
        help="benchmark the index on generated corpora against rank-bm25",
        description="Generate corpora from the CMRC 2018 trial contexts and the seed page, then time "
        "tokenizing, building, loading and querying, beside rank-bm25. A benchmark, not a test.",
    )
    bench.add_argument(
        "--sizes", default="10000,100000,1000000", type=sizes, help="paragraph counts, comma-separated (default: %(default)s)"
    )
    bench.add_argument("--questions", type=positive_number, default=500, metavar="N", help="timed questions per size (default: %(default)s)")
    bench.add_argument(
        "--reference-sample",
        type=positive_number,
        default=100,
        metavar="N",
        help="above 200,000 paragraphs rank-bm25 is timed on N questions only, labelled sampled (default: %(default)s)",
    )
    bench.add_argument("--cmrc", metavar="FILE", help="CMRC 2018 SQuAD-format file (default: ../shared/data/cmrc2018/cmrc2018_trial.json, else the copy in tests/data)")
    bench.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import settle
    from retrieval.measure.bench import BenchError, run

    cmrc = Path(args.cmrc) if args.cmrc else next((p for p in CMRC_LOCATIONS if p.is_file()), CMRC_LOCATIONS[0])
    try:
        run(settings, args.sizes, args.questions, args.reference_sample, cmrc, SEED_PAGE, quiet=args.quiet, settle=lambda: settle(settings))
    except BenchError as exc:
        raise CommandError(exc) from None
    return 0
