"""`qabot ingest` on the seed newspaper page and on a second page written for these tests.

Every check runs on the files the real command writes, read back through the loader.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.settings import PROJECT_ROOT
from corpus.segment import title_and_subtitle
from corpus.loader import load_corpus
from corpus.model import Corpus

SEED_PAGE = PROJECT_ROOT / "corpus" / "raw" / "newspaper-page.txt"
SHARED_SEED_PAGE = PROJECT_ROOT.parent / "shared" / "seed" / "newspaper-page.txt"
PAGE_2 = PROJECT_ROOT / "tests" / "data" / "ocr_page_2.txt"
PAGE_2_EXPECTED = PROJECT_ROOT / "tests" / "data" / "ocr_page_2.expected.yaml"

SEED_ARTICLES = [
    ("海南省民政厅召开海南慈善事业高质量发展座谈会", None, "海南省民政厅"),
    ("河北：打击整治非法社会组织专项行动成效显著", None, "河北省民政厅"),
    ("陕西部署民政领域安全生产和防汛救灾工作", None, None),
    ("青海省民政厅召开重点工作调度会", "全力推动年度考核目标任务落实", "青海省民政厅"),
]
HEBEI_HEADINGS = ["“快”字当先，迅速部署", "“准”字为要，明确重点", "“合”字为重，协同发力", "“严”字当头，重拳出击"]
HEBEI_SENTENCE = (
    "专项行动以来，河北省已取缔劝散非法社会组织248家，自行解散33家，引导登记416家，破获案件11起，"
    "抓获犯罪嫌疑人8名，有力地净化了社会组织的发展环境。"
)
CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef“”‘’]"
SPACE_IN_CHINESE = re.compile(rf"{CJK}\s+{CJK}|{CJK}\s+[0-9]|[0-9]\s+{CJK}")


def ingest(run_qabot, page: Path, out: Path) -> Corpus:
    result = run_qabot("-q", "ingest", page, "--out", out)
    assert result.returncode == 0, result.stderr
    return load_corpus(out)


@pytest.fixture(scope="module")
def seed_dir(run_qabot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seed-articles")
    ingest(run_qabot, SEED_PAGE, out)
    return out


@pytest.fixture(scope="module")
def seed(seed_dir: Path) -> Corpus:
    return load_corpus(seed_dir)


def by_title(corpus: Corpus, prefix: str):
    (article,) = [a for a in corpus.articles if a.title.startswith(prefix)]
    return article


def test_the_raw_page_is_kept_byte_for_byte():
    if not SHARED_SEED_PAGE.exists():
        pytest.skip("the shared seed page is not next to this clone")
    assert SEED_PAGE.read_bytes() == SHARED_SEED_PAGE.read_bytes()


def test_seed_page_gives_exactly_the_four_articles(seed: Corpus, seed_dir: Path):
    assert [(a.title, a.subtitle, a.source) for a in seed.articles] == SEED_ARTICLES
    assert len(list(seed_dir.glob("*.yaml"))) == 4


def test_no_paragraph_or_sentence_holds_a_headline_subheading_or_attribution(seed: Corpus):
    # A headline or subheading glued into the body would start or end a paragraph or a sentence (the
    # ledes quote their titles inside a sentence, which is fine). These are the printed lines.
    printed = ["河北：打击整治非法社会组织专项行动成效显著", "海南省民政厅召开", "海南慈善事业高质量发展座谈会",
               "陕西部署民政领域安全生产和防汛救灾工作", "青海省民政厅召开重点工作调度会", "全力推动年度考核目标任务落实",
               *HEBEI_HEADINGS]
    headings = {p.heading for _, p in seed.paragraphs() if p.heading}
    assert headings == set(HEBEI_HEADINGS)
    for _, paragraph in seed.paragraphs():
        for piece in (paragraph.text, *paragraph.sentences):
            assert "（据" not in piece and "(据" not in piece and "据" + "海南省民政厅" not in piece
            for line in printed:
                assert not piece.startswith(line) and not piece.endswith(line), (line, piece)


def test_hebei_has_its_four_subheadings_as_headings(seed: Corpus):
    hebei = by_title(seed, "河北")
    assert [p.heading for p in hebei.paragraphs if p.heading] == HEBEI_HEADINGS
    assert hebei.paragraphs[0].heading is None


def test_hebei_holds_the_result_sentence_whole(seed: Corpus):
    hebei = by_title(seed, "河北")
    assert HEBEI_SENTENCE in [s for p in hebei.paragraphs for s in p.sentences]


def test_hainan_seven_points_are_seven_sentences(seed: Corpus):
    hainan = by_title(seed, "海南")
    sentences = [s for p in hainan.paragraphs for s in p.sentences]
    numbered = [s for s in sentences if re.match(r"[一二三四五六七]是", s)]
    assert [s[:2] for s in numbered] == ["一是", "二是", "三是", "四是", "五是", "六是", "七是"]
    for sentence in numbered:
        assert len(re.findall(r"[一二三四五六七]是坚持", sentence)) == 1, sentence
    assert numbered[-1].endswith("。") and all(s.endswith("；") for s in numbered[:-1])


def test_no_space_left_inside_chinese_text(seed: Corpus):
    texts = [a.title for a in seed.articles] + [p.text for _, p in seed.paragraphs()]
    texts += [p.heading for _, p in seed.paragraphs() if p.heading]
    for text in texts:
        assert not SPACE_IN_CHINESE.search(text), text


def test_chinese_punctuation_is_full_width(seed: Corpus):
    for _, paragraph in seed.paragraphs():
        assert not re.search(rf"{CJK}[,;:?!()]|[,;:?!()]{CJK}", paragraph.text), paragraph.text


def test_running_twice_gives_the_same_files(seed_dir: Path, tmp_path: Path, run_qabot):
    again = tmp_path / "again"
    ingest(run_qabot, SEED_PAGE, again)
    ingest(run_qabot, SEED_PAGE, again)  # over its own output: nothing added, nothing changed
    names = sorted(p.name for p in seed_dir.iterdir())
    assert sorted(p.name for p in again.iterdir()) == names
    match, mismatch, errors = filecmp.cmpfiles(seed_dir, again, names, shallow=False)
    assert mismatch == [] and errors == []


def test_committed_articles_are_what_ingest_writes(seed_dir: Path):
    committed = PROJECT_ROOT / "corpus" / "articles"
    names = sorted(p.name for p in seed_dir.iterdir())
    assert sorted(p.name for p in committed.glob("newspaper-page-*")) == names
    _, mismatch, errors = filecmp.cmpfiles(seed_dir, committed, names, shallow=False)
    assert mismatch == [] and errors == [], "re-run: qabot ingest corpus/raw/newspaper-page.txt"


def test_ingest_replaces_the_files_an_earlier_run_wrote_for_the_same_page(tmp_path: Path, run_qabot):
    out = tmp_path / "articles"
    ingest(run_qabot, SEED_PAGE, out)
    stale = out / "newspaper-page-09-abcdef.yaml"
    shutil.copy(next(out.glob("*.yaml")), stale)
    other = out / "mine.yaml"
    other.write_text("id: mine\ntitle: 别人的文章\nparagraphs: [正文。]\n", encoding="utf-8")
    corpus = ingest(run_qabot, SEED_PAGE, out)
    assert not stale.exists() and other.exists()
    assert len(corpus.articles) == 5


# --- the second page: different column width, same rules ----------------------------------------


def test_second_page_ingests_as_written(tmp_path: Path, run_qabot):
    corpus = ingest(run_qabot, PAGE_2, tmp_path / "page2")
    expected = yaml.safe_load(PAGE_2_EXPECTED.read_text(encoding="utf-8"))
    got = [
        {
            "title": a.title,
            "subtitle": a.subtitle,
            "source": a.source,
            "paragraphs": [{"heading": p.heading, "text": p.text} if p.heading else p.text for p in a.paragraphs],
        }
        for a in corpus.articles
    ]
    assert got == expected


def test_second_page_keeps_latin_spaces_and_its_semicolon_clauses_in_one_sentence(tmp_path: Path, run_qabot):
    corpus = ingest(run_qabot, PAGE_2, tmp_path / "page2")
    text = "".join(p.text for _, p in corpus.paragraphs())
    assert "Telegram Bot API" in text and "COVID 19" in text
    jiangsu = by_title(corpus, "江苏")
    # Clauses joined by ； are one sentence; only numbered items (一是…；二是…) stand apart.
    assert jiangsu.paragraphs[2].sentences == (
        "会议要求，各地要把社区养老服务摆在更加突出的位置；要加强资金保障；要完善服务标准，让老年人在家门口就能吃上热乎饭！",
    )


def test_a_headline_first_line_that_runs_on_joins_the_title():
    # No body repeats it, so only the run-on first line (ending in the verb 召开) joins the two.
    body = "会议总结了今年的工作。"
    assert title_and_subtitle(["民政部召开", "全国养老服务工作会议"], body) == ("民政部召开全国养老服务工作会议", None)
    assert title_and_subtitle(["全国养老服务工作会议在京举行", "部署明年重点任务"], body) == (
        "全国养老服务工作会议在京举行",
        "部署明年重点任务",
    )


# --- bad pages ----------------------------------------------------------------------------------


def test_ingest_of_a_missing_page_is_a_clean_error(tmp_path: Path, run_qabot):
    result = run_qabot("ingest", tmp_path / "nope.txt", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip() == f"qabot: error: {tmp_path / 'nope.txt'}: no such file"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the page is empty"),
        (b"\n  \n", "the page is empty"),
        ("第一行\n第二行\n".encode("utf-8") + b"\xff\xfe\n", "3: not valid UTF-8"),
    ],
)
def test_ingest_of_a_bad_page_is_a_clean_error(tmp_path: Path, capsys, content: bytes, message: str):
    page = tmp_path / "page.txt"
    page.write_bytes(content)
    out = tmp_path / "out"
    assert main(["ingest", str(page), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"qabot: error: {page}:") and message in error
    assert len(error.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_a_failed_write_leaves_no_half_file(tmp_path: Path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    calls = []

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["ingest", str(SEED_PAGE), "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    files = list(out.iterdir())
    assert len(files) == 1  # the first article, whole; no temporary or partial second file
    assert load_corpus(out).articles[0].title == SEED_ARTICLES[0][0]


def test_ingest_writes_into_the_corpus_option_or_the_settings_corpus_by_default(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("QABOT_SETTINGS", raising=False)
    by_option = tmp_path / "by-option"
    assert main(["-q", "--corpus", str(by_option), "ingest", str(PAGE_2)]) == 0
    assert len(list(by_option.glob("ocr-page-2-*.yaml"))) == 3
    by_settings = tmp_path / "by-settings"
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"corpus:\n  path: {by_settings}\n", encoding="utf-8")
    assert main(["-q", "--settings", str(settings), "ingest", str(PAGE_2)]) == 0
    assert sorted(p.name for p in by_settings.iterdir()) == sorted(p.name for p in by_option.iterdir())


def test_a_page_without_any_paragraph_is_a_clean_error(tmp_path: Path, capsys):
    page = tmp_path / "headings.txt"
    page.write_text("只有标题\n\n没有正文\n", encoding="utf-8")
    assert main(["ingest", str(page), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"qabot: error: {page}: no article found on this page (no paragraph ends a sentence)\n"
