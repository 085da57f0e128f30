"""A raw OCR page saved into the corpus folder as .txt loads, but with a warning that says what to do."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from bot.cli.main import main
from corpus.loader import load_corpus

ROOT = Path(__file__).resolve().parents[3]
SEED_PAGE = ROOT / "corpus" / "raw" / "newspaper-page.txt"
PAGE_2 = ROOT / "tests" / "data" / "ocr_page_2.txt"


def test_a_raw_page_in_the_corpus_folder_is_named_with_the_command_to_run(tmp_path: Path, caplog):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    for page in (SEED_PAGE, PAGE_2):
        shutil.copy(page, corpus / page.name)
    loaded = load_corpus(corpus)
    assert len(loaded.warnings) == 2
    for page, warning in zip(sorted(corpus.iterdir()), loaded.warnings):
        assert str(page) in warning and "raw OCR page" in warning and f"qabot ingest {page}" in warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corpus.loader"):
        assert main(["--corpus", str(corpus), "articles"]) == 0
    assert [record.levelname for record in caplog.records].count("WARNING") == 2
    assert "qabot ingest" in caplog.text


def test_clean_text_articles_load_without_a_warning(tmp_path: Path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    # Short paragraphs, blank lines between them, each ending a sentence: a clean article.
    (corpus / "short.txt").write_text("标题\n\n" + "\n\n".join(f"第{n}段很短。" for n in range(12)) + "\n", encoding="utf-8")
    # One paragraph a line, no blank lines: long lines.
    (corpus / "long.txt").write_text(
        "标题\n" + "\n".join("这是一段完整的文字，写在一行里面，一直写到句号才结束，所以它很长。" for _ in range(10)) + "\n",
        encoding="utf-8",
    )
    shutil.copytree(ROOT / "corpus" / "articles", corpus / "seed")
    assert load_corpus(corpus).warnings == ()
