"""`qabot` subcommands: index (build or check the persisted index) and bench (the speed benchmark)."""

from __future__ import annotations

import argparse

from bot.cli import CommandError


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    index = commands.add_parser(
        "index",
        help="build the corpus' BM25 index, or report that it is up to date",
        description="Build the persisted BM25 index of the corpus, or report that it is up to date.",
    )
    # SUPPRESS keeps the global --corpus when this one is not given (argparse would reset it to None).
    index.add_argument("--corpus", metavar="PATH", default=argparse.SUPPRESS, help="articles: a directory or one file")
    index.add_argument("--force", action="store_true", help="rebuild even if the index is up to date")
    index.set_defaults(handler=run_index)

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


def _size(size: int) -> str:
    """Bytes on disk, readably.

    >>> _size(1_500_000), _size(52_300), _size(900)
    ('1.5 MB', '52.3 kB', '900 bytes')
    """
    if size >= 1e6:
        return f"{size / 1e6:,.1f} MB"
    return f"{size / 1e3:.1f} kB" if size >= 1e3 else f"{size} bytes"


def run_index(args: argparse.Namespace) -> int:
    from bot.runtime import corpus_path, open_index
    from corpus.loader import load_corpus

    settings = args.settings_obj
    path = corpus_path(settings, args.corpus)
    corpus = load_corpus(path, settings.corpus.max_file_bytes)
    try:
        _, opened = open_index(settings, corpus, path, quiet=args.quiet, force=args.force)
    except (ValueError, OSError) as exc:
        raise CommandError(exc) from None
    index, build = opened.index, opened.build
    from retrieval.index import disk_size

    summary = (
        f"{index.doc_count:,} paragraphs, {len(index.terms):,} terms, "
        f"{_size(disk_size(opened.directory))} on disk"
    )
    if build is None:
        print(f"index up to date: {summary}; checked in {opened.seconds:.2f} s")
    else:
        print(f"index built ({'; '.join(opened.rebuilt_because)}): {summary}; {opened.seconds:.1f} s")
        print(
            f"  tokenized {build.tokenized:,} of {build.paragraphs:,} paragraphs in {build.tokenize_seconds:.1f} s "
            f"(the others were in the token cache), indexed in {build.index_seconds:.1f} s"
        )
    print(f"  {opened.directory}")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from retrieval.bench import BenchError, run

    try:
        run(args.settings_obj, args.sizes, args.questions, args.reference_sample, args.cmrc, quiet=args.quiet)
    except BenchError as exc:
        raise CommandError(exc) from None
    return 0
