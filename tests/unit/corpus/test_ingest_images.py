"""`qabot ingest` on a photo of a page, on its PDF and on a scan saved as PDF gives the articles the page
prints; a file that is not a page is a clean error.

The page (tests/data/pages/linjiang-p5.*) is one of our own, rendered by tests/make_test_pages.py:
the PNG at 150 dpi, the JPEG as a phone photo of it (turned 1.2°, soft, unevenly lit, grainy), the
PDF with a text layer. The truth is the page's spec. OCR may misread a mark or two, so paragraph text
is held to a character accuracy; every other field, and where each paragraph starts and under which
heading, must be exact.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pytest

from bot.cli.main import main
from corpus.errors import CorpusError
from corpus.ingest import ingest_page
from corpus.loader import load_corpus
from pagemaker import PAGES, article_fields, expected_articles, load_spec

SPEC = load_spec("linjiang-p5")
FIELDS = ("kicker", "title", "subtitle", "source", "byline", "dateline", "captions")
# What OCR of the photo reads right, at least, of the paragraphs' characters (measured: 0.999).
MIN_CHARACTER_ACCURACY = 0.99


def character_accuracy(got: list[dict], want: list[dict]) -> float:
    read = "".join(text for article in got for _, text in article["paragraphs"])
    printed = "".join(text for article in want for _, text in article["paragraphs"])
    return difflib.SequenceMatcher(None, read, printed, autojunk=False).ratio()


def assert_same_articles(got: list[dict], want: list[dict], exact_text: bool) -> None:
    assert [{k: a[k] for k in FIELDS} for a in got] == [{k: a[k] for k in FIELDS} for a in want]
    assert [[heading for heading, _ in a["paragraphs"]] for a in got] == [[h for h, _ in a["paragraphs"]] for a in want]
    if exact_text:
        assert got == want
    else:
        assert character_accuracy(got, want) >= MIN_CHARACTER_ACCURACY


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("photo")
    assert main(["-q", "ingest", str(PAGES / "linjiang-p5-photo.jpg"), "--out", str(out)]) == 0
    return out


def test_a_photo_of_the_page_gives_its_articles(photo_dir: Path):
    got = [article_fields(article) for article in load_corpus(photo_dir).articles]
    assert_same_articles(got, expected_articles(SPEC), exact_text=False)


def test_the_photo_files_are_named_after_the_photo_and_dated_by_its_header(photo_dir: Path):
    corpus = load_corpus(photo_dir)
    assert [Path(f).name[:21] for f in corpus.files] == ["linjiang-p5-photo-01-", "linjiang-p5-photo-02-", "linjiang-p5-photo-03-"]
    assert {article.date for article in corpus.articles} == {"2025-03-08"}


def test_a_pdf_with_a_text_layer_gives_exactly_its_articles(tmp_path: Path, capsys):
    assert main(["ingest", str(PAGES / "linjiang-p5.pdf"), "--out", str(tmp_path)]) == 0
    summary = capsys.readouterr().out
    assert "3 articles, 8 paragraphs" in summary and "(pdf," in summary
    got = [article_fields(article) for article in load_corpus(tmp_path).articles]
    assert_same_articles(got, expected_articles(SPEC), exact_text=True)


def test_a_scan_saved_as_pdf_is_read_by_ocr():
    from PIL import Image

    scan = io.BytesIO()
    Image.open(PAGES / "linjiang-p5.png").convert("RGB").save(scan, format="PDF", resolution=150)
    report = ingest_page(scan.getvalue(), "pdf", name="scan.pdf")
    assert report.kind == "pdf" and report.pages == 1
    got = [article_fields(article) for article in report.articles]
    assert_same_articles(got, expected_articles(SPEC), exact_text=False)


def test_the_report_is_what_the_bot_needs():
    report = ingest_page((PAGES / "linjiang-p5.pdf").read_bytes(), name="upload.pdf")
    assert report.kind == "pdf"
    assert report.paragraph_counts == (4, 2, 2)
    assert [file.name[:10] for file in report.files] == ["upload-01-", "upload-02-", "upload-03-"]
    assert all(file.text.startswith("# Written by `qabot ingest` from upload.pdf.") for file in report.files)
    assert any(aside.kind == "furniture" for aside in report.set_aside)
    assert report.summary().splitlines()[0].startswith("upload.pdf: 3 articles, 8 paragraphs")


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("blank.png", "blank", "the image is blank: no print on it"),
        ("broken.jpg", "broken", "not an image this can read"),
        ("locked.pdf", "locked", "the PDF is password-protected"),
        ("broken.pdf", "broken-pdf", "not a PDF this can read"),
        ("empty.png", "empty", "not an image this can read"),
    ],
)
def test_a_file_that_is_not_a_page_is_a_clean_error(tmp_path: Path, capsys, name: str, make: str, message: str):
    from PIL import Image

    page = tmp_path / name
    if make == "blank":
        Image.new("L", (800, 1000), 255).save(page)
    elif make == "broken":
        page.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    elif make == "locked":
        page.write_bytes((PAGES / "locked.pdf").read_bytes())
    elif make == "broken-pdf":
        page.write_bytes((PAGES / "linjiang-p5.pdf").read_bytes()[:400])
    else:
        page.write_bytes(b"")
    out = tmp_path / "out"
    assert main(["ingest", str(page), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"qabot: error: {page}: ") and message in error, error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_ingest_of_bytes_needs_no_file_and_tells_text_from_images():
    text = "标题一\n\n近日，某市召开会议，部署全年工作。\n".encode()
    report = ingest_page(text, name="note.txt")
    assert report.kind == "text" and report.articles[0].title == "标题一"
    with pytest.raises(CorpusError, match="unknown page kind"):
        ingest_page(text, "fax")
