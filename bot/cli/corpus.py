"""`qabot` subcommands for the corpus: ``ingest`` a newspaper page into article files, list ``articles``."""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path

from bot.cli.arguments import global_options
from bot.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    ingest = commands.add_parser(
        "ingest",
        parents=global_options(),
        help="turn a newspaper page (OCR text, a photo or scan, a PDF) into article files",
        description="Read one newspaper page into articles (title, subtitle, source, byline, paragraphs) and write "
        "one YAML file per article. The page is OCR text (UTF-8), an image (a phone photo or a scan: .jpg, .png, "
        ".tif, ...) read by OCR, or a PDF (its text layer, or OCR of each page when it has none). Prints what it "
        "found and the lines it was unsure of. Running it again on the same page gives the same files.",
    )
    ingest.add_argument("page", metavar="PAGE", help="the page: OCR text (.txt), an image or a PDF")
    ingest.add_argument("--out", metavar="DIR", help="where to write the articles (default: the corpus directory)")
    ingest.set_defaults(handler=run_ingest)

    articles = commands.add_parser(
        "articles",
        parents=global_options(),
        help="list the corpus' articles",
        description="List id, title, source, paragraph count and sentence count of every article in the corpus.",
    )
    articles.set_defaults(handler=run_articles)


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.ingest import ingest_page
    from corpus.writer import write_page_files

    out = Path(args.out) if args.out else settings.corpus.path
    report = ingest_page(Path(args.page), quiet=args.quiet)
    write_page_files(((file.name, file.text) for file in report.files), out, report.prefix)
    if not args.quiet:
        print(f"Wrote {len(report.files)} files into {out}.")
        print(report.summary())
    return 0


def run_articles(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import open_index

    _, opened = open_index(settings, quiet=args.quiet)
    corpus = opened.corpus
    rows = [("ID", "TITLE", "SOURCE", "PARAGRAPHS", "SENTENCES")]
    sentences = 0
    for article in corpus.articles():
        rows.append((article.id, article.title, article.source or "-", str(article.paragraph_count), str(article.sentence_count)))
        sentences += article.sentence_count
    print(format_table(rows, right_aligned={3, 4}))
    print(f"{corpus.article_count} articles, {len(corpus)} paragraphs, {sentences} sentences")
    return 0


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters take two.

    >>> display_width("浙江 ok")
    7
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def format_table(rows: list[tuple[str, ...]], right_aligned: set[int] = frozenset()) -> str:
    """Rows as aligned columns, two spaces apart, measured in terminal columns.

    >>> print(format_table([("ID", "TITLE", "N"), ("a", "标题", "12")], right_aligned={2}))
    ID  TITLE   N
    a   标题   12
    """
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - display_width(cell))
            cells.append(pad + cell if i in right_aligned else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
