"""One newspaper page -> clean articles: the one entry point for the command line and the bot.

``ingest_page(source, kind)`` takes a page as OCR text, an image (a photo or a scan) or a PDF, as a
path or as bytes, and returns an ``IngestReport``: the articles found, how many paragraphs each has,
the lines it was unsure of, what it set aside, and the files to write. Nothing is written here
(``corpus.writer.write_report`` does that), so a caller can show the report first.

The reading itself is in three rooms: ``corpus.ocr`` turns an image or PDF into printed lines with
their geometry, ``corpus.layout`` gives each line its role, ``corpus.segment`` cuts the page into
articles. Text pages skip the first.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import CorpusError
from corpus.layout import Doubt, PrintedLine, read_layout, text_lines
from corpus.model import Article, Paragraph
from corpus.segment import Story, read_stories
from corpus.sentences import split_sentences
from corpus.writer import article_yaml

KINDS = ("text", "image", "pdf")
# A line OCR read with less confidence than this is listed for the user to check.
OCR_UNSURE_BELOW = 0.8
# Photos and PDFs are larger than text pages; a cap still keeps a stray huge file out.
MAX_PAGE_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SetAside:
    """Printed matter that is not article text, kept out of the articles (or in their fields)."""

    kind: str  # "furniture" (page header or footer), "caption", "byline"
    line: int
    text: str


@dataclass(frozen=True)
class PageFile:
    """A file to write: its name in the output directory and its contents."""

    name: str
    text: str


@dataclass(frozen=True)
class IngestReport:
    page: str  # the page's name, e.g. the file name
    kind: str  # "text", "image" or "pdf"
    articles: tuple[Article, ...]
    unsure: tuple[Doubt, ...]  # close decisions, for a person to check
    set_aside: tuple[SetAside, ...]
    files: tuple[PageFile, ...]
    prefix: str  # file names of this page start with it (files of an earlier run are found by it)
    pages: int = 1  # pages read (a PDF may hold several)
    seconds: float = 0.0

    @property
    def paragraph_counts(self) -> tuple[int, ...]:
        return tuple(len(article.paragraphs) for article in self.articles)

    def summary(self, max_unsure: int = 20) -> str:
        """What was found, in a few lines a person can read: articles, paragraphs, what to check."""
        lines = []
        paragraphs = sum(self.paragraph_counts)
        pages = f" on {self.pages} pages" if self.pages > 1 else ""
        lines.append(f"{self.page}: {len(self.articles)} articles, {paragraphs} paragraphs{pages} ({self.kind}, {self.seconds:.1f} s)")
        for file, article in zip(self.files, self.articles):
            extra = [f"{len(article.paragraphs)} paragraphs"]
            if article.source:
                extra.append(f"据{article.source}")
            if article.byline:
                extra.append(article.byline)
            subtitle = f" —— {article.subtitle}" if article.subtitle else ""
            lines.append(f"  {file.name}  {article.title}{subtitle}  ({', '.join(extra)})")
        for aside in self.set_aside:
            if aside.kind == "furniture":
                lines.append(f"  line {aside.line}: set aside as a page header or footer: {aside.text}")
        if self.unsure:
            lines.append(f"Check these {len(self.unsure)} lines (the reading was close):")
            for doubt in sorted(self.unsure, key=lambda d: (d.confidence, d.line))[:max_unsure]:
                lines.append(f"  line {doubt.line}: {doubt.text[:30]} — {doubt.decision} ({doubt.confidence:.0%} sure)")
            if len(self.unsure) > max_unsure:
                lines.append(f"  … and {len(self.unsure) - max_unsure} more")
        else:
            lines.append("No close decisions.")
        return "\n".join(lines)


def ingest_page(
    source: str | os.PathLike | bytes,
    kind: str | None = None,
    *,
    name: str | None = None,
    max_bytes: int = MAX_PAGE_FILE_BYTES,
    quiet: bool = True,
) -> IngestReport:
    """Read one page (OCR text, an image or a PDF; a path or the file's bytes) into articles.

    ``kind`` is "text", "image" or "pdf", or None to tell from the content. ``name`` names the page
    (and its articles' files); by default the file's name. Raises ``CorpusError`` with a message for
    the user when the file is not a page this can read.
    """
    started = time.monotonic()
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        origin = name or "page"
        where: str | Path = origin
        if len(data) > max_bytes:
            raise CorpusError(where, f"file too large: {len(data):,} bytes (at most {max_bytes:,})")
    else:
        path = Path(source)
        origin = name or path.name
        where = path
        data = _read_bytes(path, max_bytes)
    kind = kind or sniff_kind(data, origin)
    if kind not in KINDS:
        raise CorpusError(where, f"unknown page kind {kind!r} (one of {', '.join(KINDS)})")
    if kind == "text":
        text = _decode_text(data, where)
        documents = [text_lines(text)]
    else:
        from corpus.ocr import read_image, read_pdf

        documents = read_pdf(data, where, quiet=quiet) if kind == "pdf" else [read_image(data, where, quiet=quiet)]
    if not any(documents):
        raise CorpusError(where, "the page is empty" if kind == "text" else "no text found: is this a page of print?")
    slug = page_slug(origin)
    stories: list[Story] = []
    unsure: list[Doubt] = []
    set_aside: list[SetAside] = []
    for number, lines in enumerate(documents, start=1):
        found, doubts, asides = _read_lines(lines)
        stories.extend(found)
        unsure.extend(_on_page(doubts, number, len(documents)))
        set_aside.extend(asides)
    if not stories:
        raise CorpusError(where, "no article found on this page (no paragraph ends a sentence)")
    articles = tuple(_article(article_id(slug, index, story.title), story) for index, story in enumerate(stories, start=1))
    files = tuple(PageFile(f"{article.id}.yaml", article_yaml(article, origin)) for article in articles)
    return IngestReport(
        origin,
        kind,
        articles,
        tuple(unsure),
        tuple(set_aside),
        files,
        slug,
        len(documents),
        time.monotonic() - started,
    )


def read_page_text(text: str, page_name: str = "page.txt") -> tuple[Article, ...]:
    """The articles of one page of OCR text (the layout reading alone, for tests and tools)."""
    stories, _, _ = _read_lines(text_lines(text))
    slug = page_slug(page_name)
    return tuple(_article(article_id(slug, index, story.title), story) for index, story in enumerate(stories, start=1))


def _read_lines(lines: list[PrintedLine]) -> tuple[list[Story], list[Doubt], list[SetAside]]:
    layout = read_layout(lines)
    stories, doubts = read_stories(layout)
    asides = [SetAside(aside.kind, aside.lines[0].number, aside.text) for aside in layout.asides]
    misread = [
        Doubt(line.number, line.raw.strip(), "OCR was unsure of this line's text", line.ocr_score)
        for line in lines
        if line.ocr_score is not None and line.ocr_score < OCR_UNSURE_BELOW
    ]
    unsure = sorted({(d.line, d.decision): d for d in [*layout.doubts, *doubts, *misread]}.values(), key=lambda d: d.line)
    return stories, unsure, asides


def _on_page(doubts: list[Doubt], page: int, pages: int) -> list[Doubt]:
    if pages == 1:
        return doubts
    return [Doubt(d.line, d.text, f"page {page}: {d.decision}", d.confidence) for d in doubts]


def _article(identifier: str, story: Story) -> Article:
    paragraphs = tuple(
        Paragraph(identifier, position, heading, text, split_sentences(text))
        for position, (heading, text) in enumerate(story.paragraphs)
    )
    return Article(
        identifier,
        story.title,
        paragraphs,
        subtitle=story.subtitle,
        source=story.source,
        date=story.date,
        kicker=story.kicker,
        byline=story.byline,
        dateline=story.dateline,
        captions=story.captions,
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise CorpusError(path, f"file too large: {size:,} bytes (at most {max_bytes:,})")
            return handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise CorpusError(path, "no such file") from None
    except IsADirectoryError:
        raise CorpusError(path, "a directory, not a page") from None
    except OSError as exc:
        raise CorpusError(path, f"cannot be read: {exc.strerror or exc}") from None


def _decode_text(data: bytes, where: str | Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = 1 + data.count(b"\n", 0, exc.start)
        byte = data[exc.start : exc.start + 1].hex()
        raise CorpusError(where, f"not valid UTF-8 (byte 0x{byte} at offset {exc.start})", line) from None


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def sniff_kind(data: bytes, name: str = "") -> str:
    """What a page file holds, from its first bytes (a name's suffix only breaks a tie).

    >>> sniff_kind(b"%PDF-1.7 ..."), sniff_kind(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff_kind("标题".encode())
    ('pdf', 'image', 'text')
    """
    head = data[:16]
    if head.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix in _IMAGE_SUFFIXES:
        return "image"
    return "text"


def page_slug(name: str) -> str:
    """A file-name-safe ASCII prefix for the articles of one page.

    >>> page_slug("newspaper-page.txt"), page_slug("第3版.txt")
    ('newspaper-page', '3')
    """
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "page"


def article_id(slug: str, sequence: int, title: str) -> str:
    """Stable id: the page, the article's place on it, and a short digest of its title.

    >>> article_id("newspaper-page", 2, "标题")
    'newspaper-page-02-748d7d'
    """
    digest = hashlib.sha1(title.encode("utf-8")).hexdigest()[:6]
    return f"{slug}-{sequence:02d}-{digest}"

