"""Pages of our own, set as OCR text the way a page of printed columns comes out of OCR.

A page is described by a spec (``tests/data/pages/*.yaml``): its header or footer and its articles
(kicker, title, subtitle, byline, dateline, caption, paragraphs with subheadings, attribution).
``page_text`` sets it in a column of any width: first lines indented by two, a closing mark never
starting a line, blank lines and OCR spaces at random. ``expected_articles`` is what a correct ingest
must give for it. ``tests/make_test_pages.py`` renders the same specs as images and PDFs.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import yaml

from corpus.text import clean

PAGES = Path(__file__).resolve().parent / "data" / "pages"
_NEVER_STARTS_A_LINE = "，。、；：！？”）》…"


def load_spec(name: str) -> dict:
    return yaml.safe_load((PAGES / f"{name}.yaml").read_text(encoding="utf-8"))


def columns(char: str) -> float:
    if unicodedata.category(char)[0] == "P" or unicodedata.east_asian_width(char) in "WF":
        return 1.0
    return 0.5


def typeset(text: str, width: float, indent: int = 2) -> list[str]:
    """Fill lines to ``width`` columns, the first indented by ``indent``; a closing mark never starts a line."""
    lines: list[str] = []
    line, used, limit, index = "", 0.0, width - indent, 0
    while index < len(text):
        char = text[index]
        if used + columns(char) > limit and line:
            if char in _NEVER_STARTS_A_LINE and len(line) > 1:
                index -= 1  # the character before it moves down with it
                line = line[:-1]
            lines.append(line)
            line, used, limit = "", 0.0, width
            continue
        line += char
        used += columns(char)
        index += 1
    return lines + [line] if line else lines


def ocr_spaced(line: str, rng: random.Random) -> str:
    """The line with, one time in ten, a space inside it where OCR saw a gap."""
    if rng.random() < 0.1 and len(line) > 4:
        cut = rng.randrange(1, len(line) - 1)
        line = f"{line[:cut]} {line[cut:]}"
    return line


def paragraphs(article: dict) -> list[tuple[str | None, str]]:
    """(subheading, text) of each paragraph, as the spec writes them."""
    result = []
    for item in article["paragraphs"]:
        result.append((item.get("heading"), item["text"]) if isinstance(item, dict) else (None, item))
    return result


def printed_first_paragraph(article: dict) -> str:
    """The first paragraph as printed: an inline dateline and byline before the text."""
    text = paragraphs(article)[0][1]
    if article.get("dateline"):
        byline = f"（{article['byline']}）" if article.get("byline") else ""
        return f"{article['dateline']}{byline}{text}"
    return text


def headline_lines(article: dict) -> list[str]:
    return list(article.get("title_lines") or [article["title"]])


def page_text(spec: dict, width: float, rng: random.Random) -> str:
    """The spec's page as OCR text of one column ``width`` print columns wide."""
    out: list[str] = []

    def emit(line: str) -> None:
        out.append(ocr_spaced(line, rng))
        if rng.random() < 0.4:
            out.append("")

    if spec.get("header"):
        out += [spec["header"], ""]
    for article in spec["articles"]:
        if article.get("kicker"):
            out.append(article["kicker"])
        out += headline_lines(article)
        if article.get("subtitle"):
            out.append(article["subtitle"])
        if article.get("byline") and not article.get("dateline"):
            out.append(article["byline"])
        for number, (heading, text) in enumerate(paragraphs(article)):
            if heading:
                out.append(heading)
            for line in typeset(printed_first_paragraph(article) if number == 0 else text, width):
                emit(line)
            if number == 0 and article.get("caption"):
                out.append(article["caption"])
        if article.get("source"):
            out.append(f"（据{article['source']}）")
        out.append("")
    if spec.get("footer"):
        out.append(spec["footer"])
    return "\n".join(out) + "\n"


def expected_articles(spec: dict) -> list[dict]:
    """What ingest must give for the spec: every field of every article, in print order."""
    return [
        {
            "kicker": article.get("kicker"),
            "title": article["title"],
            "subtitle": (article.get("subtitle") or "").lstrip("—") or None,
            "source": article.get("source"),
            "byline": article.get("byline"),
            "dateline": article.get("dateline"),
            "captions": [clean(article["caption"])] if article.get("caption") else [],
            "paragraphs": paragraphs(article),
        }
        for article in spec["articles"]
    ]


def article_fields(article) -> dict:
    """The same fields of an ingested ``corpus.model.Article``."""
    return {
        "kicker": article.kicker,
        "title": article.title,
        "subtitle": article.subtitle,
        "source": article.source,
        "byline": article.byline,
        "dateline": article.dateline,
        "captions": list(article.captions),
        "paragraphs": [(p.heading, p.text) for p in article.paragraphs],
    }
