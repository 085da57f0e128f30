"""`qabot fit`: refit the sentence ranker and its highlight gate, run by ``retrieval.measure.fit``."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from bot.cli.arguments import global_options
from bot.cli.errors import CommandError
from bot.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommand to the parser."""
    fit = commands.add_parser(
        "fit",
        parents=global_options(corpus=False),
        help="refit the sentence ranker on one half of reading-comprehension sets (needs the dev extras)",
        description="Fit the sentence ranker (a conditional logit plus LightGBM trees on top) and its highlight "
        "gate on one half of SQuAD-format sets, print both halves' figures, and write the model file that "
        "answering reads. A development tool: LightGBM comes with pip install -e '.[dev]'.",
    )
    fit.add_argument("sets", nargs="*", type=Path, metavar="FILE", help="SQuAD-format sets (default: CMRC 2018 trial and DRCD dev in ../shared/data)")
    fit.add_argument("--half", choices=("even", "odd"), default="even", help="fit on this half (default: even); the other one checks")
    fit.add_argument("--out", type=Path, default=None, help="where to write the model (default: retrieval/data/sentence_ranker.json for trees, sentence_ranker_linear.json for linear)")
    fit.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    fit.add_argument("--drop", action="append", default=[], metavar="FEATURE", help="fit without this feature (repeatable; retrieval/ranker.py names them)")
    fit.add_argument("--l2", type=float, default=1e-4, help="L2 penalty on the weights (default: %(default)s)")
    fit.add_argument("--max-multi", type=float, default=0.06, help="lower the weight of quotes longer than one sentence until at most this share of the fit half's best candidates are such quotes (default: %(default)s)")
    fit.add_argument("--model", choices=("trees", "linear"), default="trees", help="trees: gradient-boosted trees on top of the linear model (LightGBM, the shipped ranker); linear: the linear model alone (default: %(default)s)")
    fit.add_argument("--leaves", type=int, default=None, help="leaves per tree (default: chosen by cross-validation on the fit half, with --rounds)")
    fit.add_argument("--rounds", type=int, default=None, help="number of trees (default: chosen by cross-validation on the fit half)")
    fit.add_argument("--compare-trees", action="store_true", help="also fit LightGBM LambdaMART and compare")
    fit.add_argument("--precision", type=float, default=0.96, help="the highlight gate's threshold makes the fit half's shown highlights at least this precise (default: %(default)s)")
    fit.add_argument("--no-gate", action="store_true", help="fit no highlight gate (every highlight found is shown)")
    fit.add_argument("--weigh", choices=("questions", "sets"), default="questions", help="questions: every question weighs the "
                     "same in the fit; sets: every set does, whatever its number of questions (default: %(default)s)")
    fit.add_argument("--cache-dir", type=Path, default=None, help="where feature vectors are cached (default: .cache/fit)")
    fit.set_defaults(handler=run_fit)


def run_fit(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.measure.fit import CACHE_DIR, FitError, FitRequest, fit

    request = FitRequest(
        sets=tuple(args.sets), half=args.half, out=args.out, dry_run=args.dry_run, drop=tuple(args.drop),
        l2=args.l2, max_multi=args.max_multi, model=args.model, leaves=args.leaves, rounds=args.rounds,
        compare_trees=args.compare_trees, precision=args.precision, no_gate=args.no_gate,
        cache_dir=args.cache_dir or CACHE_DIR, weigh=args.weigh,
        # As given to ``main``, so that the model file says how to make it again.
        command=" ".join(["qabot", *map(shlex.quote, getattr(args, "argv", None) or ["fit"])]),
    )
    try:
        return fit(request, settings.answer)
    except FitError as exc:
        raise CommandError(exc) from None
