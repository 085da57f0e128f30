"""Every page in ../shared/pages (written by people who never saw the ingest code) ingests to exactly
its expected articles, every expected sentence stands whole, and its questions are answered over the
ingested files. Skipped when ../shared is not beside this clone.

Each check runs on the files the real `qabot ingest` writes, read back through the loader.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from corpus.loader import load_corpus
from corpus.model import Corpus

ROOT = Path(__file__).resolve().parents[3]
SHARED_PAGES = ROOT.parent / "shared" / "pages"
PAGES = sorted(SHARED_PAGES.glob("page-*.txt")) if SHARED_PAGES.is_dir() else []


def _expected(page: Path) -> dict:
    return yaml.safe_load(page.with_name(page.stem + ".expect.yaml").read_text(encoding="utf-8"))


def _normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _qabot() -> list[str]:
    script = Path(sys.executable).with_name("qabot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


@pytest.fixture(scope="module", params=PAGES or [None], ids=lambda page: page.name if page else "no-shared-pages")
def ingested(request, tmp_path_factory) -> tuple[Path, Path, Corpus]:
    page = request.param
    if page is None:
        pytest.skip("../shared/pages is not beside this clone")
    out = tmp_path_factory.mktemp(page.stem)
    env = {k: v for k, v in os.environ.items() if k != "QABOT_SETTINGS"}
    result = subprocess.run([*_qabot(), "ingest", str(page), "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "articles" in result.stdout and "paragraphs" in result.stdout  # the summary
    return page, out, load_corpus(out)


def test_the_page_gives_exactly_its_articles(ingested):
    page, _, corpus = ingested
    want = sorted((a["title"], a.get("subtitle"), a.get("source")) for a in _expected(page)["articles"])
    got = sorted((a.title, a.subtitle, a.source) for a in corpus.articles)
    assert got == want


def test_every_expected_sentence_stands_whole(ingested):
    # Whole: inside one paragraph, starting and ending where the sentence rule cuts. The rule cuts a
    # list's clauses at ；too (corpus/README.md), so a sentence holding ；is two units in a row.
    page, _, corpus = ingested
    runs = set()
    for _, paragraph in corpus.paragraphs():
        units = [_normal(s) for s in paragraph.sentences]
        runs.update("".join(units[i:j]) for i in range(len(units)) for j in range(i + 1, min(len(units), i + 4) + 1))
    missing = [s for s in _expected(page)["sentences"] if _normal(s) not in runs]
    assert missing == []


def test_no_text_holds_page_furniture_a_byline_or_a_caption(ingested):
    # Forms of what the page prints besides its articles, not any page's strings.
    _, _, corpus = ingested
    for article in corpus.articles:
        for text in [article.title, *(s for p in article.paragraphs for s in p.sentences)]:
            assert "责任编辑" not in text and "星期" not in text, text
            assert not text.startswith(("本报讯", "本报记者", "记者 ", "图为")), text
            assert not _normal(text).endswith("摄"), text


def test_the_questions_are_answered_over_the_ingested_files(ingested, tmp_path, capsys):
    page, out, _ = ingested
    questions = _expected(page)["questions"]  # the near misses (answered: false) must be refused
    file = tmp_path / "questions.yaml"
    file.write_text(yaml.safe_dump(questions, allow_unicode=True), encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"index:\n  cache_dir: {tmp_path / 'cache'}\n", encoding="utf-8")
    status = main(["-q", "--settings", str(settings), "--corpus", str(out), "eval", str(file), "--min-zh", "1.0",
                   "--min", "no-answer=1.0", "--max-refused", "0", "--show-failures"])
    output = capsys.readouterr().out
    assert status == 0, output
