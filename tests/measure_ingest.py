"""Figures for the README: how well and how fast `ingest` reads pages.

    .venv/bin/python tests/measure_ingest.py

Prints: the seed articles re-typeset at 8–26 characters a line (the test's layouts, seeds 0–4, and
held-out ones, seeds 5–14); our own test pages set at every width; and, for our rendered test page,
per format (PNG, phone photo JPEG, PDF with a text layer, scan saved as PDF): seconds per page (the
OCR engine loaded once beforehand), whether every field and paragraph break is right, and the share
of paragraph characters read right.
"""

from __future__ import annotations

import difflib
import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "unit" / "corpus"))  # test_ingest_retypeset

from corpus.ingest import ingest_page, read_page_text  # noqa: E402
from corpus.loader import load_corpus  # noqa: E402
from pagemaker import PAGES, article_fields, expected_articles, load_spec, page_text  # noqa: E402
from test_ingest_retypeset import SEED_ARTICLES, page, shape  # noqa: E402

FIELDS = ("kicker", "title", "subtitle", "source", "byline", "dateline", "captions")


def retypeset(seeds: range) -> dict[str, list[int]]:
    articles = list(load_corpus(SEED_ARTICLES).articles)
    counts: dict[str, list[int]] = {"8-16": [0, 0, 0], "17-26": [0, 0, 0]}
    for width in range(8, 27):
        for seed in seeds:
            rng = random.Random(width * 100 + seed)
            placed = [(article, rng.choice(["above", "below"])) for article in articles]
            band = counts["8-16" if width <= 16 else "17-26"]
            if any(p == "above" and q == "below" and not a.source for (a, p), (_, q) in zip(placed, placed[1:])):
                band[2] += 1
                continue
            band[1] += 1
            band[0] += shape(read_page_text(page(placed, width, rng), "r.txt")) == shape(a for a, _ in placed)
    return counts


def own_pages() -> dict[str, str]:
    result = {}
    for name in ("linjiang-p5", "binhai-p3"):
        spec = load_spec(name)
        right = [
            width
            for width in range(8, 27)
            if [article_fields(a) for a in read_page_text(page_text(spec, width, random.Random(width * 100)), name)]
            == expected_articles(spec)
        ]
        wrong = sorted(set(range(8, 27)) - set(right))
        result[name] = f"{len(right)} of 19 widths" + (f" (wrong at {wrong})" if wrong else "")
    return result


def ocr_formats() -> None:
    from PIL import Image

    from corpus.ocr import _engine

    _engine()  # loaded once, as a running bot has it
    want = expected_articles(load_spec("linjiang-p5"))
    scan = io.BytesIO()
    Image.open(PAGES / "linjiang-p5-photo.jpg").convert("RGB").save(scan, format="PDF", resolution=150)
    sources = {
        "PNG, 150 dpi": ((PAGES / "linjiang-p5.png").read_bytes(), "image"),
        "photo JPEG": ((PAGES / "linjiang-p5-photo.jpg").read_bytes(), "image"),
        "PDF, text layer": ((PAGES / "linjiang-p5.pdf").read_bytes(), "pdf"),
        "scan saved as PDF": (scan.getvalue(), "pdf"),
    }
    print(f"{'format':18} {'s/page':>7}  fields  breaks  characters")
    for label, (data, kind) in sources.items():
        started = time.perf_counter()
        report = ingest_page(data, kind, name="page")
        seconds = time.perf_counter() - started
        got = [article_fields(a) for a in report.articles]
        fields = [{k: a[k] for k in FIELDS} for a in got] == [{k: a[k] for k in FIELDS} for a in want]
        breaks = [[h for h, _ in a["paragraphs"]] for a in got] == [[h for h, _ in a["paragraphs"]] for a in want]
        read = "".join(t for a in got for _, t in a["paragraphs"])
        printed = "".join(t for a in want for _, t in a["paragraphs"])
        accuracy = difflib.SequenceMatcher(None, read, printed, autojunk=False).ratio()
        print(f"{label:18} {seconds:7.1f}  {str(fields):6}  {str(breaks):6}  {accuracy:.4f}")


def main() -> None:
    for label, seeds in (("test layouts (seeds 0-4)", range(5)), ("held-out layouts (seeds 5-14)", range(5, 15))):
        counts = retypeset(seeds)
        figures = ", ".join(f"{band}: {ok} of {n} right ({skipped} skipped)" for band, (ok, n, skipped) in counts.items())
        print(f"seed articles re-typeset, {label}: {figures}")
    for name, figure in own_pages().items():
        print(f"own page {name} as text: {figure}")
    ocr_formats()


if __name__ == "__main__":
    main()
