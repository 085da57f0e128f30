"""Reading article files: every format, directory order, ``--corpus``, and every bad input through the CLI.

Bad inputs are run through ``qabot --corpus PATH articles`` (in process, for the exit status and the
exact error line) and a few through the installed ``qabot`` script itself.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import corpus.loader as loader
from bot.cli.main import main
from corpus.loader import CorpusError, load_corpus

ARTICLE_YAML = """\
id: a1
title: 标题一
subtitle: 副题
source: 某某厅
date: 2023-07-01
paragraphs:
  - 第一段。第二句；第三句。
  - heading: 小标题
    text: 小标题下的段落。
"""


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch):
    monkeypatch.delenv("QABOT_SETTINGS", raising=False)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def cli_error(capsys, corpus: Path) -> str:
    """Run ``qabot --corpus corpus articles``; assert it fails with status 2 and one error line; return it."""
    status = main(["--corpus", str(corpus), "articles"])
    captured = capsys.readouterr()
    assert status == 2, captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("qabot: error: ")
    assert captured.out == ""
    return lines[0]


# --- formats ------------------------------------------------------------------------------------


def test_yaml_single_article_with_every_field(tmp_path: Path):
    corpus = load_corpus(write(tmp_path / "a.yaml", ARTICLE_YAML))
    (article,) = corpus.articles
    assert (article.id, article.title, article.subtitle, article.source, article.date) == (
        "a1", "标题一", "副题", "某某厅", "2023-07-01",
    )
    first, second = article.paragraphs
    assert (first.article_id, first.position, first.heading) == ("a1", 0, None)
    assert first.sentences == ("第一段。", "第二句；", "第三句。")
    assert (second.position, second.heading, second.text) == (1, "小标题", "小标题下的段落。")
    assert corpus.files == (str(tmp_path / "a.yaml"),)


def test_yaml_list_and_multi_document_stream(tmp_path: Path):
    write(tmp_path / "list.yml", "- {id: l1, title: 一, paragraphs: [甲。]}\n- {id: l2, title: 二, paragraphs: [乙。]}\n")
    write(tmp_path / "stream.yaml", "id: s1\ntitle: 三\nparagraphs: [丙。]\n---\nid: s2\ntitle: 四\nparagraphs: [丁。]\n")
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["l1", "l2", "s1", "s2"]


def test_jsonl_one_article_per_line(tmp_path: Path):
    lines = [
        {"id": "j1", "title": "一", "paragraphs": ["甲。乙。"]},
        {"id": "j2", "title": "二", "source": "新华社", "paragraphs": [{"heading": "小", "text": "丙。"}]},
    ]
    write(tmp_path / "big.jsonl", "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n")
    corpus = load_corpus(tmp_path / "big.jsonl")
    assert [(a.id, a.source, len(a.paragraphs)) for a in corpus.articles] == [("j1", None, 1), ("j2", "新华社", 1)]
    assert corpus.articles[0].paragraphs[0].sentences == ("甲。", "乙。")


def test_clean_text_and_markdown(tmp_path: Path):
    write(tmp_path / "news" / "plain.txt", "江苏召开会议\n\n近日，江苏省召开\n会议。\n\n会议要求，抓好落实。\n")
    write(tmp_path / "news" / "note.md", "# 浙江开展培训\n\n日前举办培训班。\n\n## 培训务实\n\n学员表示收获很大。\n")
    corpus = load_corpus(tmp_path)
    note, plain = corpus.articles
    assert (plain.id, plain.title) == ("news/plain", "江苏召开会议")
    assert [p.text for p in plain.paragraphs] == ["近日，江苏省召开会议。", "会议要求，抓好落实。"]
    assert (note.id, note.title) == ("news/note", "浙江开展培训")
    assert [(p.heading, p.text) for p in note.paragraphs] == [(None, "日前举办培训班。"), ("培训务实", "学员表示收获很大。")]


def test_directory_is_read_recursively_in_sorted_order_skipping_hidden_and_other_files(tmp_path: Path):
    for name in ["b.yaml", "a/z.yaml", "a/c.yaml", ".hidden.yaml", ".git/x.yaml", "notes.json"]:
        stem = Path(name).stem.strip(".")
        write(tmp_path / name, f"id: {name}\ntitle: {stem}\nparagraphs: [正文。]\n")
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["a/c.yaml", "a/z.yaml", "b.yaml"]
    assert load_corpus(tmp_path) == corpus


def test_bundled_corpus_is_the_default(capsys):
    assert main(["articles"]) == 0
    out = capsys.readouterr().out
    assert "河北：打击整治非法社会组织专项行动成效显著" in out
    assert out.splitlines()[-1].startswith("4 articles, ")


def test_articles_lists_id_title_source_and_counts_aligned(tmp_path: Path, capsys):
    write(tmp_path / "a.yaml", ARTICLE_YAML)
    write(tmp_path / "b.yaml", "id: b-long-id\ntitle: Title\nparagraphs: [One. Two.]\n")
    assert main(["--corpus", str(tmp_path), "articles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "TITLE", "SOURCE", "PARAGRAPHS", "SENTENCES"]
    assert lines[1].split() == ["a1", "标题一", "某某厅", "2", "4"]
    assert lines[2].split() == ["b-long-id", "Title", "-", "1", "2"]
    assert lines[3] == "2 articles, 3 paragraphs, 6 sentences"
    # Right-aligned counts end in the same terminal column on every row.
    assert len({len(line) + sum(ord(c) > 0x2E80 for c in line) for line in lines[:3]}) == 1


def test_corpus_option_takes_a_single_file(tmp_path: Path, capsys):
    write(tmp_path / "one.yaml", ARTICLE_YAML)
    write(tmp_path / "two.yaml", "id: two\ntitle: 二\nparagraphs: [乙。]\n")
    assert main(["--corpus", str(tmp_path / "one.yaml"), "articles"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 articles, 2 paragraphs, 4 sentences"


# --- bad input: issue 2 item 8 ------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, capsys):
    bad = write(tmp_path / "bad.yaml", "id: x\ntitle: 标题\nparagraphs:\n  - 甲。\n  - [乙。\n")
    assert cli_error(capsys, tmp_path).startswith(f"qabot: error: {bad}:6: YAML syntax error:")


def test_missing_title(tmp_path: Path, capsys):
    bad = write(tmp_path / "a.yaml", "# comment\nid: x\nparagraphs: [甲。]\n")
    assert cli_error(capsys, tmp_path) == f"qabot: error: {bad}:2: article 'x': missing 'title'"


def test_missing_title_in_a_list_names_the_item_line(tmp_path: Path, capsys):
    bad = write(tmp_path / "a.yaml", "- id: x\n  title: 一\n  paragraphs: [甲。]\n- id: y\n  paragraphs: [乙。]\n")
    assert cli_error(capsys, tmp_path) == f"qabot: error: {bad}:4: article 'y': missing 'title'"


def test_paragraphs_not_a_list(tmp_path: Path, capsys):
    bad = write(tmp_path / "a.yaml", "id: x\ntitle: 标题\nparagraphs: 一段文字。\n")
    assert cli_error(capsys, tmp_path) == f"qabot: error: {bad}:3: article 'x': 'paragraphs' must be a list, got text"


def test_invalid_utf8_names_the_line(tmp_path: Path, capsys):
    bad = write(tmp_path / "a.yaml", "id: x\ntitle: 标题\n".encode("utf-8") + b"paragraphs: [\xe6\xa0]\n")
    error = cli_error(capsys, tmp_path)
    assert error.startswith(f"qabot: error: {bad}:3: not valid UTF-8")


def test_invalid_utf8_in_jsonl_names_the_line(tmp_path: Path, capsys):
    good = json.dumps({"id": "a", "title": "t", "paragraphs": ["p."]}).encode()
    bad = write(tmp_path / "a.jsonl", good + b"\n" + good.replace(b'"a"', b'"b\xff"') + b"\n")
    assert cli_error(capsys, tmp_path).startswith(f"qabot: error: {bad}:2: not valid UTF-8")


@pytest.mark.parametrize("name, content", [("a.yaml", ""), ("a.yaml", "# only a comment\n"), ("a.txt", "\n \n"),
                                           ("a.jsonl", "\n"), ("a.yaml", "---\n...\n")])
def test_empty_file(tmp_path: Path, capsys, name: str, content: str):
    bad = write(tmp_path / name, content)
    error = cli_error(capsys, tmp_path)
    assert error.startswith(f"qabot: error: {bad}: the file is empty")


def test_duplicate_id_names_both_files(tmp_path: Path, capsys):
    first = write(tmp_path / "a.yaml", "id: same\ntitle: 一\nparagraphs: [甲。]\n")
    second = write(tmp_path / "b" / "c.yaml", "# again\nid: same\ntitle: 二\nparagraphs: [乙。]\n")
    assert cli_error(capsys, tmp_path) == (
        f"qabot: error: {second}:2: duplicate article id 'same' (first in {first}:1)"
    )


def test_duplicate_id_between_jsonl_lines(tmp_path: Path, capsys):
    line = json.dumps({"id": "dup", "title": "t", "paragraphs": ["p."]})
    bad = write(tmp_path / "a.jsonl", f"{line}\n{line}\n")
    assert cli_error(capsys, tmp_path) == f"qabot: error: {bad}:2: duplicate article id 'dup' (first in {bad}:1)"


def test_empty_directory_says_so_plainly(tmp_path: Path, capsys):
    (tmp_path / "empty").mkdir()
    error = cli_error(capsys, tmp_path / "empty")
    assert error.startswith(f"qabot: error: {tmp_path / 'empty'}: the corpus is empty: no article files")


def test_directory_with_only_other_files_is_empty(tmp_path: Path, capsys):
    write(tmp_path / "notes.json", "{}")
    assert "the corpus is empty" in cli_error(capsys, tmp_path)


def test_a_single_file_of_another_kind_is_refused(tmp_path: Path, capsys):
    other = write(tmp_path / "notes.json", '{"id": "x"}')
    assert cli_error(capsys, other).startswith(f"qabot: error: {other}: not an article file")


def test_missing_corpus_path(tmp_path: Path, capsys):
    assert cli_error(capsys, tmp_path / "nowhere") == f"qabot: error: {tmp_path / 'nowhere'}: no such file or directory"


@pytest.mark.parametrize(
    "content, message",
    [
        ("title: 标题\nparagraphs: [甲。]\n", "1: article without an 'id'"),
        ("id: x\ntitle: 标题\nparagraphs: []\n", "3: article 'x' has no paragraphs"),
        ("id: x\ntitle: 标题\nparagraphs:\n- 甲。\n- '   '\n", "5: article 'x', paragraph 2: the text is empty"),
        ("id: x\ntitle: 标题\nparagraphs: [{heading: 小}]\n", "paragraph 1: expected text or {heading, text}, got nothing"),
        ("id: x\ntitle: 标题\nparagraph: [甲。]\n", "3: unknown field 'paragraph'"),
        ("id: x\ntitle: [标题]\nparagraphs: [甲。]\n", "2: article 'x': 'title' must be text, got a list"),
        ("- 只是一段文字\n", "1: expected an article (a mapping of fields), got text"),
        ("id: x\ntitle: 标题\nparagraphs: [!!python/object:os.system 甲]\n", "3: YAML error: could not determine"),
    ],
)
def test_other_schema_errors(tmp_path: Path, capsys, content: str, message: str):
    bad = write(tmp_path / "a.yaml", content)
    error = cli_error(capsys, tmp_path)
    assert error.startswith(f"qabot: error: {bad}:") and message in error


def test_nothing_is_half_loaded(tmp_path: Path):
    write(tmp_path / "a.yaml", "id: good\ntitle: 好\nparagraphs: [甲。]\n")
    write(tmp_path / "b.yaml", "id: bad\nparagraphs: [乙。]\n")
    with pytest.raises(CorpusError) as caught:
        load_corpus(tmp_path)
    assert caught.value.file == str(tmp_path / "b.yaml") and caught.value.line == 1


# --- bad input: issue 6 item 2 ------------------------------------------------------------------


def test_truncated_yaml(tmp_path: Path, capsys):
    whole = ARTICLE_YAML.encode("utf-8")
    cut = whole[: whole.index("小标题下".encode("utf-8")) + 4]  # mid-character and mid-mapping
    bad = write(tmp_path / "a.yaml", cut)
    error = cli_error(capsys, tmp_path)
    assert error.startswith(f"qabot: error: {bad}:9: not valid UTF-8")
    bad.write_bytes(whole[: whole.index(b"paragraphs:") + 11] + b' ["unterminated')
    assert cli_error(capsys, tmp_path).startswith(f"qabot: error: {bad}:6: YAML syntax error")


@pytest.mark.parametrize("name", ["huge.yaml", "huge.txt", "huge.jsonl"])
def test_a_50_mb_single_line_is_refused_before_it_is_read(tmp_path: Path, capsys, name: str):
    huge = tmp_path / name
    with open(huge, "wb") as handle:
        handle.write(b'{"id": "x", "title": "t", "paragraphs": ["')
        handle.write(b"a" * (50 * 1024 * 1024))
        handle.write(b'"]}')
    started = time.perf_counter()
    error = cli_error(capsys, tmp_path)
    assert time.perf_counter() - started < 5
    if name.endswith(".jsonl"):
        assert error.startswith(f"qabot: error: {huge}:1: line too long: over 16,777,216 bytes")
    else:
        size = huge.stat().st_size
        assert error == f"qabot: error: {huge}: file too large: {size:,} bytes (corpus.max_file_bytes is 16,777,216)"


def test_the_size_cap_is_a_setting(tmp_path: Path, capsys):
    write(tmp_path / "corpus" / "a.yaml", ARTICLE_YAML)
    settings = write(tmp_path / "small.yaml", "corpus:\n  max_file_bytes: 100\n")
    assert main(["--settings", str(settings), "--corpus", str(tmp_path / "corpus"), "articles"]) == 2
    assert "file too large" in capsys.readouterr().err


BILLION_LAUGHS = """\
id: lol
title: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
paragraphs: *i
"""


def test_billion_laughs_is_refused_not_expanded(tmp_path: Path, capsys):
    bad = write(tmp_path / "lol.yaml", BILLION_LAUGHS)
    started = time.perf_counter()
    error = cli_error(capsys, tmp_path)
    assert time.perf_counter() - started < 5
    assert error == f"qabot: error: {bad}:3: YAML aliases (*name) are not allowed in article files"  # at &a


def test_any_alias_is_refused(tmp_path: Path, capsys):
    bad = write(tmp_path / "a.yaml", "id: x\ntitle: &t 标题\nsubtitle: *t\nparagraphs: [甲。]\n")
    assert cli_error(capsys, tmp_path).startswith(f"qabot: error: {bad}:2: YAML aliases")


def test_a_file_deleted_while_loading(tmp_path: Path, capsys, monkeypatch):
    write(tmp_path / "a.yaml", "id: a\ntitle: 一\nparagraphs: [甲。]\n")
    doomed = write(tmp_path / "b.yaml", "id: b\ntitle: 二\nparagraphs: [乙。]\n")
    real_article_files = loader.article_files

    def listing_then_deletion(root):
        files = real_article_files(root)
        doomed.unlink()  # gone between the directory listing and the read
        return files

    monkeypatch.setattr(loader, "article_files", listing_then_deletion)
    assert cli_error(capsys, tmp_path) == (
        f"qabot: error: {doomed}: the file disappeared while the corpus was being read (deleted meanwhile?)"
    )


def test_a_jsonl_file_deleted_while_loading(tmp_path: Path, monkeypatch):
    doomed = write(tmp_path / "a.jsonl", json.dumps({"id": "a", "title": "t", "paragraphs": ["p."]}) + "\n")
    real_article_files = loader.article_files
    monkeypatch.setattr(loader, "article_files", lambda root: [*real_article_files(root), doomed.unlink()][:-1])
    with pytest.raises(CorpusError, match="disappeared"):
        load_corpus(tmp_path)


def test_the_installed_command_reports_a_bad_file(tmp_path: Path, run_qabot):
    bad = write(tmp_path / "a.yaml", "id: x\ntitle: 标题\nparagraphs: 一段\n")
    result = run_qabot("--corpus", tmp_path, "articles", timeout=120)
    assert result.returncode == 2
    # Listing the articles reads them into the index first; that build's log line may come before the error.
    assert result.stderr.splitlines()[-1] == f"qabot: error: {bad}:3: article 'x': 'paragraphs' must be a list, got text"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("name, content", [("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n"),
                                           ("deep.yaml", "[" * 100_000 + "]" * 100_000 + "\n")])
def test_absurdly_nested_data_is_a_clean_error(tmp_path: Path, capsys, name: str, content: str):
    bad = write(tmp_path / name, content)
    assert cli_error(capsys, tmp_path).startswith(f"qabot: error: {bad}")
