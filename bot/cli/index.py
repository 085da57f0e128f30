"""`qabot index`: build the persisted index of the corpus, or check that it is up to date."""

from __future__ import annotations

import argparse

from bot.cli.arguments import global_options
from bot.cli.errors import CommandError
from bot.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    index = commands.add_parser(
        "index",
        parents=global_options(),
        help="build the corpus' BM25 index, or report that it is up to date",
        description="Build the persisted BM25 index of the corpus, or report that it is up to date.",
    )
    index.add_argument("--force", action="store_true", help="rebuild even if the index is up to date")
    index.set_defaults(handler=run_index)


def _size(size: int) -> str:
    """Bytes on disk, readably.

    >>> _size(1_500_000), _size(52_300), _size(900)
    ('1.5 MB', '52.3 kB', '900 bytes')
    """
    if size >= 1e6:
        return f"{size / 1e6:,.1f} MB"
    return f"{size / 1e3:.1f} kB" if size >= 1e3 else f"{size} bytes"


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import open_index
    from retrieval.index import disk_size

    try:
        _, opened = open_index(settings, quiet=args.quiet, force=args.force)
    except (ValueError, OSError) as exc:
        raise CommandError(exc) from None
    index, build = opened.index, opened.build
    summary = (
        f"{opened.corpus.article_count:,} articles, {len(opened.corpus):,} paragraphs, {index.doc_count:,} documents, "
        f"{len(index.terms):,} terms, {_size(disk_size(opened.directory))} on disk"
    )
    if build is None:
        print(f"index up to date: {summary}; checked in {opened.seconds:.2f} s")
    else:
        print(f"index built ({'; '.join(opened.rebuilt_because)}): {summary}; {opened.seconds:.1f} s")
        print(
            f"  read {build.files_read:,} files ({build.files_reused:,} unchanged files taken from the previous build), "
            f"tokenized {build.tokenized:,} of {build.documents:,} documents and cut the sentences of {build.cut:,} of "
            f"{build.paragraphs:,} paragraphs in {build.tokenize_seconds:.1f} s "
            f"(the others were in the token cache or the previous build), indexed in {build.index_seconds:.1f} s"
        )
    print(f"  {opened.directory}")
    return 0
